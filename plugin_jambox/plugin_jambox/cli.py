"""`abonent jambox …`: the SMS functions an operator scripts (sync, customers, set-top
boxes, messages, subnets). Other modules of the plugin add their commands to the group
(`jambox.add_command`)."""
from __future__ import annotations

import click

from plugin_jambox.store import PLUGIN


@click.group(PLUGIN)
def jambox() -> None:
    """JAMBOX IPTV (SGT's SMS)."""
