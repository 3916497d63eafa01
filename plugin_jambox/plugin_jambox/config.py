"""The plugin's `[plugins.jambox]` configuration section (what differs per SMS login is in
the agent settings, see plugin_jambox.agent)."""
from __future__ import annotations

from core import Field

SCHEMA = [
    Field("panel_timeout", "decimal", default="3", min=0.1,
          help="seconds the account card waits for the SMS before showing the billing's "
               "side alone"),
    Field("sync_time", "time", default="04:15",
          help="time of day (operator's zone) of the nightly reconciliation"),
    Field("sync_fix", "bool", default=True,
          help="whether the nightly reconciliation repairs the drift it finds"),
]
