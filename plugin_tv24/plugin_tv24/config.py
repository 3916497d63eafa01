"""The plugin's `[plugins.tv24]` configuration section (one per installation; what differs
per platform account lives in the agent settings, see plugin_tv24.agent)."""
from __future__ import annotations

from core import Field

SCHEMA = [
    Field("connect_timeout", "decimal", default="3.05", min=0.1,
          help="seconds to wait for a connection to the platform"),
    Field("read_timeout", "decimal", default="10", min=0.1,
          help="seconds to wait for the platform's answer to a delivery or a reconcile"),
    Field("panel_timeout", "decimal", default="3", min=0.1,
          help="seconds the account card waits for the platform before showing "
               "the billing's side alone"),
    Field("max_callback_bytes", "int", default=65536, min=1024,
          help="larger callback bodies are refused (413) without being read"),
    Field("sync_time", "time", default="03:30",
          help="time of day (operator's zone) of the nightly reconciliation"),
    Field("sync_fix", "bool", default=True,
          help="whether the nightly reconciliation repairs the drift it finds"),
]
