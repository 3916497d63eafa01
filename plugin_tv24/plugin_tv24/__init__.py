"""Abonent's integration with the 24h TV (24часаТВ) OTT platform.

The billing talks to the platform's provider REST API through :mod:`plugin_tv24.client`;
the platform calls the billing back (auth, packet, delete_subscription, balance).
:mod:`plugin_tv24.emulator` is a stand-in for the platform, served over a real socket, so
that tests and the demo exercise the same HTTP the production platform speaks, and
:mod:`plugin_tv24.spec` loads the platform's own OpenAPI document to check that claim.
"""

__version__ = "0.1.0"
