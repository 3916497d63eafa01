"""Abonent plugin for Wialon: count GPS-tracking units per billing account.

Carbon Billing's "counter" service charges each subscriber daily for the
number of Wialon units registered to their billing account (ext_id).  This
package holds the Wialon side of that: the client that counts
(``plugin_wialon.client``), the error table (``plugin_wialon.errors``) and an
emulator to test against (``plugin_wialon.emulator``).

Import from those submodules, not from this package: run from the repository
root, ``plugin_wialon`` resolves to the distribution folder (a namespace
package), so names re-exported here would not be found.
"""
