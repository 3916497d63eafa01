"""`abonent nas radius`: the billing's RADIUS server (authentication and accounting for
every NAS agent), until Ctrl-C; and `start`, which the command, the demo and the
benchmark use to run it next to other things."""
from __future__ import annotations

import time

import click

from plugin_nas_oss.radius_server import RadiusServer
from plugin_nas_oss.radius_server_logic import BillingLogic


def start(runtime, host: str = "127.0.0.1", auth_port: int = 1812, acct_port: int = 1813,
          refresh: float = 1.0, **options) -> RadiusServer:
    """A started server answering from `runtime`'s database (port 0: a free one); what
    the billing changes reaches its answers within `refresh` seconds."""
    return RadiusServer(BillingLogic(runtime, refresh), host=host, auth_port=auth_port,
                        acct_port=acct_port, **options).start()


def _counts(server: RadiusServer) -> str:
    counts = sorted(server.counters.items())
    return ", ".join(f"{name} {count}" for name, count in counts) or "nothing yet"


@click.command("radius")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--auth-port", type=click.IntRange(0, 65535), default=1812, show_default=True)
@click.option("--acct-port", type=click.IntRange(0, 65535), default=1813, show_default=True)
@click.option("--report-every", type=click.IntRange(1, 86400), default=60, show_default=True,
              help="Seconds between two lines of counters.")
@click.pass_obj
def radius(state, host: str, auth_port: int, acct_port: int, report_every: int) -> None:
    """Serve RADIUS Access and Accounting for the NAS agents until Ctrl-C."""
    runtime = state.ready()
    try:
        server = start(runtime, host, auth_port, acct_port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host} ports {auth_port}/{acct_port}: "
                                   f"{exc.strerror or exc}") from None
    click.echo(f"RADIUS on {host}: auth {server.auth_port}, accounting {server.acct_port} "
               f"(Ctrl-C stops)")
    try:
        while True:
            time.sleep(report_every)
            click.echo(_counts(server))
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo(f"stopped: {_counts(server)}")
