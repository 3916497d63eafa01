"""The plugin's `[plugins.nas_oss]` section (one per installation; what differs per NAS
lives in the agent settings, see plugin_nas_oss.agent)."""
from __future__ import annotations

from decimal import Decimal

from core import Field

SCHEMA = [
    Field("diagnostics_timeout", "decimal", default="3", min=Decimal("0.1"),
          help="seconds the account card's user_info / user_test buttons wait for the NAS"),
]
