"""The plugin's `[plugins.wialon]` section: how hard the counting run may press on Wialon
(one per installation; what differs per Wialon login lives in the agent settings, see
plugin_wialon.agent)."""
from __future__ import annotations

from core import Field
from plugin_wialon.client import SESSION_CONCURRENCY_LIMIT

PLUGIN = "wialon"

#: Days before today a scheduled run still counts when they are not complete.
DEFAULT_CATCH_UP_DAYS = 7

SCHEMA = [
    Field("timeout", "int", default=30, min=1, max=600,
          help="seconds to wait for one Wialon reply (a batch of a few hundred accounts)"),
    Field("batch_size", "int", default=200, min=1, max=2000,
          help="accounts counted per core/batch request"),
    Field("max_concurrency", "int", default=SESSION_CONCURRENCY_LIMIT, min=1,
          max=SESSION_CONCURRENCY_LIMIT,
          help="batches in flight at once (Wialon allows 10 requests at once per session)"),
    Field("catch_up_days", "int", default=DEFAULT_CATCH_UP_DAYS, min=0, max=31,
          help="days before today that a run without --date counts again while some account "
               "of theirs is not counted (Wialon down, a wrong token); 0: today only"),
]
