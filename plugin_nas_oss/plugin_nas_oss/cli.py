"""`abonent nas …`: the plugin's commands (other modules add theirs to the group)."""
from __future__ import annotations

import click


@click.group("nas", help="NAS / BRAS: RADIUS server, CoA commands, session synchronisation.")
def nas() -> None:
    pass
