"""Schema changes, only through Alembic: upgrade, downgrade, where each branch stands, and
the check that the models and the migrations agree (what `alembic check` does).

The schema has one Alembic branch per owner: the core's (its first revision carries the
branch label "core") and one for each plugin that keeps tables of its own (hook
`abonent_migrations`; its first revision has `branch_labels = ("<plugin>",)`,
`down_revision = None` and `depends_on` the core revision it needs). `Branches` says
where each branch's scripts are; the plugin host builds it (`plugins.host.branches_of`),
and without one only the core's branch is seen.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError, to_tuple
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from core.errors import AbonentError
from core.models import Base

SCRIPTS = Path(__file__).parent / "migrations"
CORE = "core"
#: Tables other libraries manage themselves; autogenerate leaves them alone.
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in FOREIGN_TABLES)


@dataclass(frozen=True)
class Branches:
    """Where the revision scripts of each plugin's branch are (the core's are implied).

    `enabled`: plugins that run; their branches are upgraded and required.
    `dormant`: installed plugins that are disabled; their scripts are read (the database
    may hold their revisions, on which core revisions can be stacked) but their branches
    are neither upgraded nor required, and their tables are not compared.
    """

    enabled: Mapping[str, Path] = field(default_factory=dict)
    dormant: Mapping[str, Path] = field(default_factory=dict)

    def locations(self) -> dict[str, Path]:
        """Branch name -> folder of its scripts, the core's first."""
        return {CORE: SCRIPTS / "versions", **self.dormant, **self.enabled}

    def required(self) -> list[str]:
        return [CORE, *sorted(self.enabled)]


CORE_ONLY = Branches()


@dataclass(frozen=True)
class BranchState:
    """One branch: the code's head revision and the database's (None: not applied)."""

    name: str
    head: str
    current: str | None

    @property
    def behind(self) -> bool:
        return self.current != self.head


def _config(branches: Branches) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("version_table", "alembic_version")
    config.set_main_option("path_separator", "os")  # alembic >= 1.16; older split on spaces
    config.set_main_option("version_locations", os.pathsep.join(
        str(path) for path in branches.locations().values()))
    return config


def _scripts(branches: Branches) -> ScriptDirectory:
    return ScriptDirectory.from_config(_config(branches))


def _run(engine: Engine, branches: Branches, action, *args, include=include_object,
         **kwargs) -> None:
    """An Alembic command on `engine`; `include` picks the objects autogenerate compares
    (core/migrations/env.py reads it)."""
    config = _config(branches)
    config.attributes["include_object"] = include
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            action(config, *args, **kwargs)
    except CommandError as exc:
        raise AbonentError(f"migrations: {exc}") from None


def upgrade(engine: Engine, revision: str = "heads", branches: Branches = CORE_ONLY) -> None:
    """Apply migrations up to `revision`; "heads" is the head of the core's branch and of
    every enabled plugin's (a dormant plugin's branch stays where it is)."""
    targets = [revision]
    if revision == "heads":  # a plugin without revisions yet has no head to go to
        written = set(_branch_of(_scripts(branches), branches).values())
        targets = [f"{name}@head" for name in branches.required() if name in written]
    for target in targets:
        _run(engine, branches, command.upgrade, target)


def downgrade(engine: Engine, revision: str = "core@-1", branches: Branches = CORE_ONLY
              ) -> None:
    """Revert migrations down to `revision`: "core@-1" (one step of the core's branch, and
    the plugin revisions that depend on it), "<plugin>@-1", "<plugin>@base", "base"."""
    _run(engine, branches, command.downgrade, revision)


def _branch_of(script: ScriptDirectory, branches: Branches) -> dict[str, str]:
    """Revision id -> the branch it belongs to (by the folder its file is in)."""
    folders = {path.resolve(): name for name, path in branches.locations().items()}
    return {rev.revision: folders.get(Path(rev.path).resolve().parent, CORE)
            for rev in script.walk_revisions()}


def _applied(script: ScriptDirectory, heads: tuple[str, ...]) -> set[str]:
    """Every revision the database has: its heads and all below them, dependencies too
    (Alembic keeps only the heads: a plugin revision that depends on the core's head
    stands for both)."""
    applied: set[str] = set()
    todo = list(heads)
    while todo:
        rev: Script = script.get_revision(todo.pop())
        if rev.revision in applied:
            continue
        applied.add(rev.revision)
        below = [r.revision for r in script.revision_map.get_revisions(rev.dependencies)]
        todo.extend([*to_tuple(rev.down_revision, default=()), *below])
    return applied


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        script.get_revision(revision)
    except CommandError:  # Alembic's "Can't locate revision"
        return False
    return True


def _database_heads(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


@dataclass(frozen=True)
class Status:
    """The database against the code: each required branch (the core's first) and the
    revisions the database holds that no installed code knows (`unknown`)."""

    branches: list[BranchState]
    unknown: tuple[str, ...] = ()

    @property
    def behind(self) -> list[BranchState]:
        return [branch for branch in self.branches if branch.behind]

    def problem(self) -> str | None:
        """What stops the code from working on this database, or None."""
        if not self.behind:
            return None
        found = "; ".join(f"{b.name} is at {b.current or 'base (empty)'}, the code needs "
                          f"{b.head}" for b in self.behind)
        return f"the database is not migrated ({found}): run `abonent db upgrade`" + (
            f" (it also holds revision(s) {', '.join(self.unknown)} that neither the core "
            f"nor an installed plugin provides: was a plugin uninstalled?)"
            if self.unknown else "")


def status(engine: Engine, branches: Branches = CORE_ONLY) -> Status:
    """Where each required branch stands in the database.

    A revision the database holds but no installed code knows (a plugin uninstalled
    while its tables stay) is listed, not fatal: the branches that are known are judged
    on their own."""
    script = _scripts(branches)
    found = _database_heads(engine)
    unknown = tuple(rev for rev in found if not _known(script, rev))
    applied = _applied(script, tuple(rev for rev in found if rev not in unknown))
    owner = _branch_of(script, branches)
    result = []
    for name in branches.required():
        heads = [head for head in script.get_heads() if owner[head] == name]
        if not heads:  # a plugin whose first revision is still to be written
            continue
        if len(heads) > 1:
            raise AbonentError(f"migrations of {name!r}: the branch must have one head, "
                               f"found {', '.join(heads)}")
        current = next((rev.revision for rev in script.iterate_revisions(heads[0], "base")
                        if rev.revision in applied and owner[rev.revision] == name), None)
        result.append(BranchState(name, heads[0], current))
    return Status(result, unknown)


def current(engine: Engine, branches: Branches = CORE_ONLY) -> str | None:
    """The database's revision of the core's branch (None: an empty database)."""
    return status(engine, branches).branches[0].current


def head(branches: Branches = CORE_ONLY) -> str:
    """The code's head revision of the core's branch."""
    return _scripts(branches).get_revision(f"{CORE}@head").revision


def require_current(engine: Engine, branches: Branches = CORE_ONLY) -> None:
    """Refuse to work on a database that is unreachable or where the core's branch or an
    enabled plugin's is not at the code's head (the message names each such branch)."""
    try:
        problem = status(engine, branches).problem()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise AbonentError(f"database_url: cannot connect to {engine.url!r}: {reason}") from None
    if problem:
        raise AbonentError(problem)


def revision(engine: Engine, message: str, branch: str = CORE, package: str = CORE,
             branches: Branches = CORE_ONLY) -> Path:
    """Autogenerate the next revision of `branch` from the models of `package` (the
    plugin's top-level package; other owners' tables are left alone) into the branch's
    folder, and return its file. A plugin's first revision gets the plugin's branch label
    and depends on the core's head (developers and plugin authors: `abonent db
    revision`); the database must be at every head first, as autogenerate compares it."""
    require_current(engine, branches)
    owners = _owners()
    first = branch not in _branch_of(_scripts(branches), branches).values()

    def include(obj, name, type_, reflected, compare_to):
        if type_ == "table":
            return owners.get(name) == package
        return include_object(obj, name, type_, reflected, compare_to)

    folder = branches.locations()[branch]
    before = set(folder.glob("*.py"))
    options = ({"head": "base", "branch_label": branch, "depends_on": head(branches)}
               if first else {"head": f"{branch}@head"})
    _run(engine, branches, command.revision, message, autogenerate=True,
         version_path=str(folder), include=include, **options)
    (written,) = set(folder.glob("*.py")) - before
    return written


def _owners() -> dict[str, str]:
    """Table name -> the package that declares its model (core's tables: "core")."""
    return {mapper.local_table.name: mapper.class_.__module__.split(".")[0]
            for mapper in Base.registry.mappers if mapper.local_table is not None}


def differences(engine: Engine, packages: Mapping[str, str] | None = None) -> list:
    """What autogenerate would change: empty when models and migrations agree.

    The core's tables are compared, and those of the plugins in `packages` (plugin name
    -> the top-level package its models live in, `plugins.host.model_packages`). A
    table declared on the core's Base by a package not given (a plugin imported but not
    enabled) is left out on both sides; any other table of the database is reported.
    So is an index a plugin declares on a core table (its `info["package"]` names the
    plugin's package; plugin_nas_oss's IP index on `account`)."""
    owners = _owners()
    wanted = {CORE, *(packages or {}).values()}
    left_out = {name for name, package in owners.items() if package not in wanted}
    left_out_indexes = {index.name for table in Base.metadata.tables.values()
                        for index in table.indexes
                        if index.info.get("package", CORE) not in wanted}

    def include(obj, name, type_, reflected, compare_to):
        if (type_ == "table" and name in left_out) or (
                type_ == "index" and name in left_out_indexes):
            return False
        return include_object(obj, name, type_, reflected, compare_to)

    with engine.connect() as connection, warnings.catch_warnings():
        # SQLite cannot reflect the PostgreSQL-only expression indexes (trigram, the NAS
        # plugin's IP and MAC): Alembic's notice of skipping them is not a difference
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified "
                                          "expression-based index")
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": include})
        return compare_metadata(context, Base.metadata)
