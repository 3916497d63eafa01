"""The PostgreSQL of a test session: `ABONENT_TEST_POSTGRES_URL` when it is set, otherwise
a throwaway cluster the kit starts itself, so a plugin's tests run on PostgreSQL from the
plugin's own folder, with no script from Abonent's source checkout.

The throwaway cluster: `initdb` + `pg_ctl` (found on PATH, then under
/usr/lib/postgresql/*/bin, newest first; `ABONENT_PG_BIN` names the folder), a temporary
data folder, a free port on 127.0.0.1, trust authentication, and the settings that make a
test server fast (no fsync, no synchronous commit, no full-page writes; the data is
thrown away anyway). It is stopped and deleted when the test session ends. A server does
not run as root, so under root the cluster runs as the `postgres` user (Debian's
packages create it). When neither a URL nor a server is at hand, the test fails with what
to install or set: PostgreSQL is never skipped silently.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_ENV = "ABONENT_TEST_POSTGRES_URL"
PG_BIN_ENV = "ABONENT_PG_BIN"
#: why each setting: a test cluster is thrown away, so durability buys nothing
FAST = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=400 -c shared_buffers=128MB")
HOW_TO = (f"set {PG_ENV} to a PostgreSQL server where the tests may create databases "
          f"(e.g. postgresql+psycopg://user@127.0.0.1:5432/postgres), or install the "
          f"PostgreSQL server (initdb and pg_ctl, e.g. `apt-get install postgresql`; "
          f"{PG_BIN_ENV} names their folder if it is not on PATH) so the kit starts a "
          f"throwaway cluster itself, or run only SQLite with --db sqlite")


SEARCH = Path("/usr/lib/postgresql")  # Debian's packages: <version>/bin


class NoPostgres(RuntimeError):
    """No PostgreSQL for the tests; the message says what to install or set."""


def _version(folder: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", folder.parent.name)) or (0,)


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    named = os.environ.get(PG_BIN_ENV)
    candidates = [Path(named)] if named else []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates += sorted(SEARCH.glob("*/bin"), key=_version, reverse=True)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A throwaway PostgreSQL cluster; `url` is its maintenance database's URL."""

    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="abonent-test-pg-"))
        self.port = _free_port()
        self.url = f"postgresql+psycopg://abonent@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.binaries / args[0]), *args[1:]]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    def start(self) -> "Cluster":
        if os.geteuid() == 0:
            try:
                shutil.chown(self.folder, "postgres")
            except LookupError:
                self.remove()
                raise NoPostgres("running as root, the kit starts PostgreSQL as the "
                                 "`postgres` user, and there is none; " + HOW_TO) from None
        data = self.folder / "data"
        steps = [("initdb", "-D", str(data), "-U", "abonent", "--auth=trust", "-E", "UTF8",
                  "--no-locale"),
                 ("pg_ctl", "-D", str(data), "-l", str(self.folder / "server.log"), "-w",
                  "-t", "60", "-o", f"-p {self.port} -k {self.folder} "
                                    f"-c listen_addresses=127.0.0.1 {FAST}", "start")]
        for step in steps:
            done = self._run(*step)
            if done.returncode:
                log = self.folder / "server.log"
                detail = (done.stderr or done.stdout).strip()
                if log.exists():
                    detail += "\n" + log.read_text(errors="replace")[-2000:]
                self.stop()
                raise NoPostgres(f"the kit could not start a throwaway PostgreSQL "
                                 f"({step[0]} in {self.binaries} failed): {detail}")
        return self

    def stop(self) -> None:
        if (self.folder / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


_cluster: Cluster | None = None
_failure: NoPostgres | None = None  # tried once: every later test fails with the same reason


def server_url() -> str:
    """The URL of the session's PostgreSQL: the environment's, else a cluster started
    now (once per session). Raises NoPostgres saying what to install or set."""
    global _cluster, _failure
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if _failure is not None:
        raise _failure
    if _cluster is None:
        try:
            binaries = server_binaries()
            if binaries is None:
                raise NoPostgres(f"PostgreSQL tests need a server and none was found: {HOW_TO}")
            _cluster = Cluster(binaries).start()
        except NoPostgres as exc:
            _failure = exc
            raise
    return _cluster.url


def stop() -> None:
    """Stop the cluster the kit started, if any (at the end of the test session)."""
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None
