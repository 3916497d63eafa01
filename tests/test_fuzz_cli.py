"""Every `abonent` command, called with whatever hypothesis makes up for its arguments
and options: it succeeds or fails with one line naming what is wrong, never a
traceback, and a refused command writes nothing.

The commands are found by walking the click tree, so a command added later is fuzzed
too. They run in this process (click's test runner: a child process per call would
take minutes); an exception that escapes a command is what a traceback would be. Left
out: the long-running loops (serve, worker, scheduler), `db` (schema changes on
purpose), `demo load` (a million subscribers is a valid, slow answer) and, as in
tests/test_cli.py, the installed plugins' commands (their own tests' business).
"""
from __future__ import annotations

import gc

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin import staff
from admin.cli import cli

LEFT_OUT = ("serve", "worker", "scheduler", "db", "demo")
#: the installed plugins, left out of the walk and of the calls
PLUGINS_OFF = {"ABONENT_PLUGINS__DISABLED": "tv24,wialon,jambox,nas_oss"}
#: values that have broken commands before, mixed with hypothesis's own text (a command
#: line cannot hold a NUL byte)
NASTY = ["", " ", "0", "-1", "1", "99999999999999999999", "-99999999999999999999", "1e309",
         "NaN", "10,50", "2024-05-01", "2024-13", "2024-05", "=cmd|' /C calc'!A1", "x" * 5000,
         "a\r\nb", "\t", "missing/r.csv", ".", "ü€😀", "C-1", "INV-1"]
TEXT = st.one_of(st.sampled_from(NASTY),
                 st.text(st.characters(blacklist_characters="\x00"), max_size=30))


def commands(group: click.Group, path: tuple[str, ...] = ()):
    """(words, command) of every command under `group`, plugins' too."""
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if command is None or (not path and name in LEFT_OUT):
            continue
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def argv(command: click.Command) -> st.SearchStrategy:
    """Command lines for `command`: each option given or not, with a made-up value (or
    one of its choices), then its arguments."""
    parts = []
    for param in command.params:
        if isinstance(param, click.Argument):
            parts.append(st.lists(TEXT, min_size=1, max_size=2 if param.nargs == -1 else 1))
            continue
        flag = param.opts[0]
        if param.is_flag:
            value = st.just([flag])
        elif isinstance(param.type, click.Choice):
            value = st.sampled_from(param.type.choices).map(lambda c, f=flag: [f, str(c)])
        else:
            value = TEXT.map(lambda text, f=flag: [f, text])
        parts.append(st.one_of(st.just([]), value))
    return st.tuples(*parts).map(lambda chunks: [word for chunk in chunks for word in chunk])


@pytest.fixture
def invoke(runtime, tmp_path, monkeypatch):
    """invoke(args) → click's Result of `abonent args` on the test database, in a scratch
    folder (a made-up relative path lands there)."""
    monkeypatch.chdir(tmp_path)
    env = {"ABONENT_DATABASE_URL": runtime.settings.database_url,
           "ABONENT_VAR_DIR": str(runtime.settings.var_dir), "ABONENT_CONFIG": None,
           **PLUGINS_OFF}
    runner = CliRunner()
    calls = [0]

    def run(args):
        result = runner.invoke(cli, args, env=env, input="")
        calls[0] += 1
        if calls[0] % 10 == 0:  # the commands' engines and connections go with their
            gc.collect()        # State: a collection a call was half of this test's time
        return result
    return run


@pytest.fixture
def data(runtime, factory):
    """A contract with an account; the admin's built-in roles, which `manager create`
    seeds on its first run whatever comes of it (as `abonent serve` does)."""
    factory.operator()
    factory.account(contract=factory.contract(number="C-1"))
    staff.seed(runtime)


def test_every_command_survives_fuzzed_arguments(invoke, data, counts, monkeypatch):
    for name, value in PLUGINS_OFF.items():
        monkeypatch.setenv(name, value)
    found = dict(commands(cli))
    assert not {words[0] for words in found} & {"tv24", "wialon", "jambox", "nas"}
    assert ("payment", "import") in found and ("invoice", "show") in found
    for words, command in sorted(found.items()):

        @settings(max_examples=5, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(argv(command))
        def call(args):
            before = counts()
            result = invoke([*words, *args])
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise AssertionError(f"abonent {' '.join(words)} {args!r}: traceback") \
                    from result.exception
            if result.exit_code != 0:
                assert counts() == before, (words, args, result.output)

        call()
