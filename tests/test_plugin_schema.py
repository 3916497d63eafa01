"""A plugin's own tables (hook `abonent_migrations`): its Alembic branch is upgraded with
the core's, `abonent db check` compares its models, `abonent db current` lists it, and a
database without its head is refused naming the branch. Everything runs through the
`abonent` command in a child process, with the example plugin installed the way pip
leaves it: its models are declared on the core's Base, and importing them here would
add a table to every other test's idea of the schema."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import inspect

from core import PluginError, migrate
from core.config import validate_settings
from core.db import make_engine
from plugins.host import branches_of, make_plugin_manager
from support import ROOT, cli_runner, fake_distribution

CORE_HEAD = migrate.head()


@pytest.fixture
def abonent(empty_database_url, tmp_path):
    """`abonent(*args, disabled=…)` with the "notes" plugin installed (tests/
    example_schema_plugin) on a fresh database of the backend under test."""
    site = fake_distribution(tmp_path / "site", "abonent-notes",
                             {"notes": "example_schema_plugin"})
    path = os.pathsep.join([str(site), str(ROOT / "tests")])

    def run(*args, disabled: str = "tv24,wialon", ok: bool = True):
        return cli_runner(empty_database_url, tmp_path, PYTHONPATH=path,
                          ABONENT_PLUGINS__DISABLED=disabled)(*args, ok=ok)
    run.url = empty_database_url
    return run


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_takes_the_plugin_branch_and_the_check_compares_its_tables(abonent):
    assert "notes: base (empty)  head: notes_0001" in abonent("db", "current").stdout
    upgraded = abonent("db", "upgrade").stdout
    assert f"core: {CORE_HEAD}  head: {CORE_HEAD}\n" in upgraded
    assert "notes: notes_0001  head: notes_0001\n" in upgraded
    assert "notes_note" in tables(abonent.url)
    assert "models and migrations agree" in abonent("db", "check").stdout
    abonent("events", "list")  # a command that needs a current database runs
    abonent("db", "upgrade")  # twice is harmless


def test_a_database_without_the_plugin_head_is_refused_naming_its_branch(abonent):
    abonent("db", "upgrade", disabled="tv24,wialon,notes")
    refused = abonent("events", "list", ok=False).stderr
    assert "notes is at base (empty), the code needs notes_0001" in refused
    assert "abonent db upgrade" in refused
    drift = abonent("db", "check", ok=False)
    assert "add_table" in drift.stdout and "notes_note" in drift.stdout
    abonent("db", "upgrade")
    abonent("events", "list")


def test_a_disabled_plugin_tables_neither_stop_nor_drift(abonent):
    abonent("db", "upgrade")
    current = abonent("db", "current", disabled="tv24,wialon,notes").stdout
    assert f"core: {CORE_HEAD}  head: {CORE_HEAD}\n" in current and "notes" not in current
    abonent("events", "list", disabled="tv24,wialon,notes")
    assert "models and migrations agree" in abonent("db", "check",
                                                    disabled="tv24,wialon,notes").stdout


def test_downgrade_a_plugin_branch_and_the_core(abonent):
    abonent("db", "upgrade")
    down = abonent("db", "downgrade", "notes@base").stdout
    assert "notes: base (empty)" in down and f"core: {CORE_HEAD}" in down
    assert "notes_note" not in tables(abonent.url)
    abonent("db", "upgrade")
    # the core below the revision the plugin depends on (0003) takes the plugin with it
    down = abonent("db", "downgrade", "0002").stdout
    assert "core: 0002" in down and "notes: base (empty)" in down
    assert "notes_note" not in tables(abonent.url)
    abonent("db", "upgrade")
    # the default is one step of the core's branch
    assert f"core: {CORE_HEAD}  head" not in abonent("db", "downgrade").stdout
    upgraded = abonent("db", "upgrade").stdout
    assert f"core: {CORE_HEAD}" in upgraded and "notes: notes_0001" in upgraded


def test_an_uninstalled_plugin_revision_is_named(abonent, tmp_path):
    """Its leftover revision does not stop the core; only when Alembic keeps it in place
    of the core's revision it depends on (the core at 0003 exactly) is the core's own
    position unknown, and the refusal names the stranger."""
    abonent("db", "upgrade")
    without = cli_runner(abonent.url, tmp_path, ABONENT_PLUGINS__DISABLED="tv24,wialon")
    assert "unknown: notes_0001" in without("db", "current").stdout
    if CORE_HEAD != "0003":
        without("events", "list")
        abonent("db", "downgrade", "0003")
    refused = without("events", "list", ok=False).stderr
    assert "notes_0001" in refused and "uninstalled" in refused


class Folder:
    def __init__(self, folder):
        self.folder = folder

    def abonent_migrations(self):
        return self.folder


def _branches(plugin):
    settings = validate_settings({"database_url": "sqlite://"}, "test")
    pm = make_plugin_manager(settings, [("mine", plugin)], load_entrypoints=False)
    return branches_of(pm, settings)


def test_a_migrations_folder_that_is_missing_is_the_plugin_error(tmp_path):
    with pytest.raises(PluginError, match="plugin 'mine': abonent_migrations returned .*"
                                          "not a folder"):
        _branches(Folder(tmp_path / "nowhere"))


def test_a_first_revision_without_the_plugin_branch_label_is_refused(tmp_path):
    (tmp_path / "mine_0001.py").write_text(
        "revision = 'mine_0001'\ndown_revision = None\nbranch_labels = None\n"
        "depends_on = '0003'\n\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n")
    with pytest.raises(PluginError, match=r"plugin 'mine': the first revision of its "
                                          r"migrations \(mine_0001.py\) must have "
                                          r"branch_labels = \('mine',\)"):
        _branches(Folder(tmp_path))
    (tmp_path / "mine_0001.py").write_text(
        (tmp_path / "mine_0001.py").read_text().replace("branch_labels = None",
                                                        "branch_labels = ('mine',)"))
    assert _branches(Folder(tmp_path)).enabled == {"mine": tmp_path.resolve()}


MEMO = '''"""A plugin whose author lets `abonent db revision` write its migrations."""
from pathlib import Path

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core import Base


class Memo(Base):
    __tablename__ = "memo_memo"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    text: Mapped[str] = mapped_column(String(100))


def abonent_migrations():
    return Path(__file__).parent / "migrations"
'''


def test_db_revision_writes_a_plugin_first_revision_with_its_label(empty_database_url,
                                                                   tmp_path):
    package = tmp_path / "src" / "memo_plugin"
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text(MEMO)
    site = fake_distribution(tmp_path / "site", "abonent-memo", {"memo": "memo_plugin"})
    abonent = cli_runner(empty_database_url, tmp_path, ABONENT_PLUGINS__DISABLED="tv24,wialon",
                         PYTHONPATH=os.pathsep.join([str(site), str(tmp_path / "src")]))
    abonent("db", "upgrade")  # the core and the other plugins; memo has nothing yet
    wrote = abonent("db", "revision", "memos", "--plugin", "memo").stdout
    (script,) = (package / "migrations").glob("*.py")
    assert str(script) in wrote
    text = script.read_text()
    assert "branch_labels = ('memo',)" in text and f"depends_on = '{CORE_HEAD}'" in text
    assert "create_table('memo_memo'" in text
    assert "create_table('notes" not in text and "drop_table" not in text.split("def downgrade")[0]
    assert "memo: " in abonent("db", "upgrade").stdout
    assert "memo_memo" in tables(empty_database_url)
    assert "models and migrations agree" in abonent("db", "check").stdout
    refused = abonent("db", "revision", "x", "--plugin", "nosuch", ok=False)
    assert "'nosuch' is neither the core nor an enabled plugin" in refused.stderr


def test_healthz_names_a_plugin_branch_that_is_behind(empty_database_url, tmp_path):
    """/healthz answers 503 "migrations pending" naming the branch, then 200 once it is
    upgraded (a plugin with a table and no model: nothing joins the models here)."""
    from admin.app import create_app
    from plugins.host import build_runtime
    (tmp_path / "gps_0001.py").write_text(
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = 'gps_0001'\n"
        "down_revision = None\nbranch_labels = ('gps',)\ndepends_on = '0003'\n\n\n"
        "def upgrade():\n    op.create_table('gps_track', sa.Column('id', sa.Integer(), "
        "primary_key=True))\n\n\ndef downgrade():\n    op.drop_table('gps_track')\n")
    settings = validate_settings({"database_url": empty_database_url,
                                  "var_dir": str(tmp_path / "var")}, "test")
    runtime = build_runtime(settings, extra_plugins=[("gps", Folder(tmp_path))],
                            load_entrypoints=False)
    try:
        migrate.upgrade(runtime.engine)  # the core only
        client = create_app(runtime).test_client()
        answer = client.get("/healthz")
        assert (answer.status_code, answer.json["status"], answer.json["behind"]) == (
            503, "migrations pending", ["gps"])
        migrate.upgrade(runtime.engine, branches=branches_of(runtime.pm, settings))
        answer = client.get("/healthz")
        assert (answer.status_code, answer.json["status"], answer.json["behind"]) == (
            200, "ok", [])
    finally:
        runtime.engine.dispose()
