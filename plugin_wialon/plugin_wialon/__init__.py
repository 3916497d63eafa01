"""Abonent plugin for Wialon: count GPS-tracking units per billing account.

Carbon Billing's "counter" service charges each subscriber daily for the
number of Wialon units registered to their billing account (ext_id).  This
package holds the Wialon side of that: the client that counts
(``plugin_wialon.client``), the error table (``plugin_wialon.errors``), an
emulator to test against (``plugin_wialon.emulator``), and the plugin Abonent
loads (``plugin_wialon.plugin``): the agent type, the daily counting run that
writes the CDR spool (``plugin_wialon.collect``), its job, command and demo.

Import from those submodules, not from this package: run from the repository
root, ``plugin_wialon`` resolves to the distribution folder (a namespace
package), so names re-exported here would not be found.
"""
