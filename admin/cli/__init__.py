"""The `abonent` command line (click).

Configuration and plugins are loaded lazily, on the first command that needs them, so
`abonent --help` works with a broken configuration and names what is broken. Every
expected error (bad input, bad configuration, a plugin that cannot load) is printed as
one line naming the field or key; tracebacks are for bugs only.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from functools import cached_property
from pathlib import Path

import click

from core.config import Settings, load_settings
from core.errors import AbonentError
from core.runtime import Runtime
from core.services.inputs import MAX_KEY


class State:
    """What the commands share: settings and the runtime, built on first use."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config_path)

    @cached_property
    def plugin_manager(self):
        """The plugins, loaded without opening the database: what `--help` and the
        plugins' commands need (a listing creates no SQLite file nor its folder)."""
        from plugins.host import make_plugin_manager
        return make_plugin_manager(self.settings)

    @cached_property
    def runtime(self) -> Runtime:
        from plugins.host import build_runtime
        return build_runtime(self.settings)

    def ready(self) -> Runtime:
        """The runtime, after checking the database is reachable and migrated."""
        from core.migrate import require_current
        from plugins.host import branches_of
        require_current(self.runtime.engine, branches_of(self.runtime.pm, self.settings))
        return self.runtime

    def ready_when_up(self, stop: threading.Event) -> Runtime | None:
        """`ready()` for a long-running process (serve, worker, scheduler), which logs to
        stderr and, started before its database, waits for it (back-off, one log line)
        instead of exiting; None when stopped while waiting."""
        from core.db import wait_for_database
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        # each job run is recorded (jobs page, `abonent jobs`); APScheduler's own lines
        # about every run are noise, its warnings are not
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        if not wait_for_database(self.runtime.engine, stop, logging.getLogger("abonent"),
                                 "start-up"):
            return None
        return self.ready()


pass_state = click.make_pass_decorator(State)

#: a row's id on the command line: a bigger number is refused as the option's error
#: instead of overflowing the database driver
KEY = click.IntRange(1, MAX_KEY)
#: how many rows a listing shows at most
LIMIT = click.IntRange(1, 100_000)


class OutputFile(click.Path):
    """A file a command will write (--output, --report), checked when the command line
    is read, before anything is done: a command that records payments and only then
    finds it cannot write its report would leave the operator without the report and
    with a traceback. The file may be new; its folder must exist and be writable."""

    name = "output file"

    def __init__(self) -> None:
        super().__init__(dir_okay=False, writable=True, path_type=Path)

    def convert(self, value, param, ctx) -> Path:
        path = super().convert(value, param, ctx)
        try:
            folder = path.resolve().parent
            exists = path.exists()
        except OSError as exc:  # a name too long for the file system, say
            self.fail(f"{str(path)[:80]}: {exc.strerror or exc}", param, ctx)
        if not folder.is_dir():
            self.fail(f"{path}: the folder {folder} does not exist", param, ctx)
        if not exists and not os.access(folder, os.W_OK | os.X_OK):
            self.fail(f"{path}: the folder {folder} is not writable", param, ctx)
        return path


def deliver(document: str | bytes, output: Path | None, what: str) -> None:
    """Print `document`, or write it to `output` (an OutputFile) and say so. A binary
    document (a workbook) goes to the standard output only when it is not a terminal."""
    if output is None:
        if isinstance(document, bytes):
            stream = click.get_binary_stream("stdout")
            if stream.isatty():
                raise click.UsageError("output: give --output FILE (or redirect the output) "
                                       f"for {what}: it is a binary file")
            stream.write(document)
            return
        click.echo(document, nl=False)
        return
    try:
        if isinstance(document, bytes):
            output.write_bytes(document)
        else:
            output.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"output: {output} was not written: "
                                   f"{exc.strerror or exc}") from None
    click.echo(f"{what} written to {output}")


def write_report(report, path: Path | None) -> None:
    """Write an import's per-line report (its `write_csv`) to `path` (an OutputFile), if
    one was given; checked when the command line was read, yet the disk may be full."""
    if path is None:
        return
    try:
        with open(path, "w", newline="", encoding="utf-8") as out:
            report.write_csv(out)
    except OSError as exc:
        raise click.ClickException(f"report: {path} was not written: "
                                   f"{exc.strerror or exc}") from None


class AbonentGroup(click.Group):
    """Adds the commands plugins register, and turns expected errors into one line."""

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        state = ctx.obj if isinstance(ctx.obj, State) else State(ctx.params.get("config_path"))
        found: dict[str, click.Command] = {}
        for commands in state.plugin_manager.hook.abonent_cli_commands():
            for command in commands or []:
                found[command.name] = command
        return found

    def list_commands(self, ctx):
        names = set(super().list_commands(ctx))
        try:
            names |= set(self._plugin_commands(ctx))
        except AbonentError:
            pass  # reported when a command actually needs the configuration
        return sorted(names)

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None:
            command = self._plugin_commands(ctx).get(name)
        return command

    def parse_args(self, ctx, args):
        """Refuse an argument that is not valid UTF-8 before any command sees it: Python
        hands such bytes on as lone surrogates, which no database can store."""
        for position, arg in enumerate(args, 1):
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                raise click.UsageError(f"argument {position} ({arg!r}) is not valid UTF-8",
                                       ctx) from None
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except AbonentError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=AbonentGroup)
@click.option("--config", "config_path", envvar="ABONENT_CONFIG",
              type=click.Path(dir_okay=False), help="TOML configuration file.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Abonent: ISP subscriber billing with plugins."""
    ctx.obj = State(config_path)


def progress(total: int, label: str):
    """A progress bar on a terminal, silence elsewhere (logs, pipes)."""
    return click.progressbar(length=total, label=label, file=sys.stderr,
                             hidden=not sys.stderr.isatty())


def main() -> None:
    cli(prog_name="abonent")


def _register_builtin_commands() -> None:
    """Every module of this package adds its commands to `cli` when imported."""
    import importlib
    import pkgutil
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_register_builtin_commands()
