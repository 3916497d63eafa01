"""Abonent's integration with JAMBOX IPTV (SGT S.A.) through SGT's "SMS" XML-RPC API.

The billing calls the SMS through :mod:`plugin_jambox.client` (XML-RPC, the auth struct
first in every call); :mod:`plugin_jambox.emulator` is a stand-in for the SMS served over
a real socket, so tests and the demo speak the same XML-RPC the production SMS does.
"""

__version__ = "0.1.0"
