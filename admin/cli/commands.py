"""The built-in commands: serve, worker, db, demo, plugins, events."""
from __future__ import annotations

import json
import logging
import signal
import threading

import click

from admin.cli import State, cli, pass_state, progress
from core import migrate
from core.db import make_engine


@cli.group()
def db() -> None:
    """Database schema (Alembic migrations): the core's branch and each plugin's."""


def _schema(state: State):
    """The engine and the schema's branches (the core's, each installed plugin's),
    without validating the plugins' settings: a bad setting must not stop a migration."""
    from plugins.host import branches_of, make_plugin_manager
    pm = make_plugin_manager(state.settings)
    return make_engine(state.settings.database_url), pm, branches_of(pm, state.settings)


def _echo_branches(engine, branches) -> None:
    status = migrate.status(engine, branches)
    for branch in status.branches:
        mark = "" if not branch.behind else "  (behind: run `abonent db upgrade`)"
        click.echo(f"{branch.name}: {branch.current or 'base (empty)'}  "
                   f"head: {branch.head}{mark}")
    if status.unknown:
        click.echo(f"unknown: {', '.join(status.unknown)} (no installed plugin provides "
                   f"these revisions: was a plugin uninstalled?)")


@db.command("upgrade")
@click.argument("revision", default="heads")
@pass_state
def db_upgrade(state: State, revision: str) -> None:
    """Apply migrations up to REVISION (default: the head of the core and of every
    enabled plugin; or e.g. core@head, <plugin>@head)."""
    engine, _, branches = _schema(state)
    migrate.upgrade(engine, revision, branches)
    click.echo(f"database at revision {migrate.current(engine, branches)}")
    _echo_branches(engine, branches)


@db.command("downgrade")
@click.argument("revision", default="core@-1")
@pass_state
def db_downgrade(state: State, revision: str) -> None:
    """Revert migrations down to REVISION (default core@-1: one step of the core, with
    the plugin revisions that need it; <plugin>@-1, <plugin>@base; "base" for all)."""
    engine, _, branches = _schema(state)
    migrate.downgrade(engine, revision, branches)
    click.echo(f"database at revision {migrate.current(engine, branches) or 'base (empty)'}")
    _echo_branches(engine, branches)


@db.command("current")
@pass_state
def db_current(state: State) -> None:
    """Print each branch's revision in the database and the code's head."""
    engine, _, branches = _schema(state)
    _echo_branches(engine, branches)


@db.command("check")
@pass_state
def db_check(state: State) -> None:
    """Fail if the models (the core's and the enabled plugins') and the migrated
    database differ."""
    from plugins.host import model_packages
    engine, pm, _ = _schema(state)
    differences = migrate.differences(engine, model_packages(pm))
    for difference in differences:
        click.echo(repr(difference))
    if differences:
        raise click.ClickException(f"{len(differences)} difference(s) between models and database")
    click.echo("models and migrations agree")


@cli.group()
def demo() -> None:
    """Demo data."""


@demo.command("load")
@click.option("--subscribers", default=300, show_default=True, type=click.IntRange(1, 1_000_000))
@pass_state
def demo_load(state: State, subscribers: int) -> None:
    """Load the demo data set into an empty database (does nothing if loaded)."""
    from core import demo as demo_data
    runtime = state.ready()
    steps = demo_data.steps(subscribers, runtime.settings.timezone)
    with progress(steps, "demo data") as bar, runtime.session(actor="cli") as s:
        loaded = demo_data.load(s, subscribers=subscribers, timezone=runtime.settings.timezone,
                                progress=bar.update)
    if not loaded:
        click.echo("demo data already loaded (an operator exists): nothing done")
        return
    click.echo(f"demo data loaded: {subscribers} subscribers")
    # last month is complete: its invoices are what the monthly job would have issued
    from core.clock import today
    from core.invoicing import invoice_period
    period = demo_data.opening_day(today(runtime.settings.timezone))
    report = invoice_period(runtime, period, actor="cli")
    click.echo(f"invoices for {period:%Y-%m}: {report.issued} issued")


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def plugins_list(state: State, as_json: bool) -> None:
    """List the installed plugins, their versions, the hooks each implements and what is
    wrong with their configuration (exit status 1 when something is)."""
    from plugins.registry import inspect_installed
    rows, stray = inspect_installed(state.settings)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
    else:
        for row in rows:
            click.echo(f"{row['name']}  {row['distribution']} {row['version']}")
            click.echo(f"  hooks: {', '.join(row['hooks'])}")
            if row["agent_types"]:
                click.echo(f"  agent types: {', '.join(row['agent_types'])}")
            for problem in row["config_errors"]:
                click.echo(f"  configuration error: {problem}")
        for name in state.settings.disabled_plugins:
            click.echo(f"{name}  (disabled in the configuration)")
    broken = [row["name"] for row in rows if row["config_errors"]]
    if broken or stray:
        raise click.ClickException("\n".join(
            ([f"the configuration of {', '.join(broken)} is wrong (listed above)"]
             if broken else []) + stray))


@cli.command()
@click.option("--once", is_flag=True, help="Deliver what is due, then exit.")
@click.option("--id", "worker_id", help="Worker name shown in the outbox (default host:pid).")
@pass_state
def worker(state: State, once: bool, worker_id: str | None) -> None:
    """Deliver the event outbox to the plugins (several may run on PostgreSQL)."""
    from plugins.outbox import Outbox
    if once:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        click.echo(f"delivered {Outbox(state.ready(), worker_id).drain()} deliveries")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        runtime = state.ready_when_up(stop)
        if runtime is not None:
            Outbox(runtime, worker_id).run_forever(stop)
    except KeyboardInterrupt:
        stop.set()


@cli.command()
@click.option("--host", help="Address to listen on (default from [server]).")
@click.option("--port", type=int, help="Port (default from [server]).")
@click.option("--no-worker", is_flag=True, help="Do not deliver the outbox in this process.")
@click.option("--no-scheduler", is_flag=True,
              help="Do not run scheduled jobs in this process (also [scheduler] enabled=false).")
@click.option("--demo", is_flag=True, help="Also start the plugins' platform emulators.")
@pass_state
def serve(state: State, host: str | None, port: int | None, no_worker: bool,
          no_scheduler: bool, demo: bool) -> None:
    """Serve the web application, with the outbox worker and the scheduler in the same
    process (the scheduler runs its jobs only while it holds the leader lock)."""
    from admin.serve import serve as run
    server = state.settings.section("server")
    scheduler = not no_scheduler and state.settings.section("scheduler")["enabled"]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        runtime = state.ready_when_up(stop)
    except KeyboardInterrupt:
        return
    if runtime is not None:
        run(runtime, host or server["host"], port or server["port"],
            worker=not no_worker, scheduler=scheduler, demo=demo)
