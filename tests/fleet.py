"""Real Abonent processes for the failover tests: a private PostgreSQL cluster that a test
may stop and restart (the suite's shared one, from scripts/with-postgres.sh, must never
be), and `abonent` commands started with the process-test plugins of tests/procs
(fileplugin appends each delivery to a file; jobplugin ticks every second)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from support import ABONENT, PROCS, fake_distribution

#: what a private cluster runs with: throwaway data, so durability is not needed
SERVER_OPTIONS = ("-c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, processes=()):
    """Poll `predicate` until it returns something true (returned); fail naming `what`,
    or at once when one of `processes` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{process.args[1]} exited with {process.returncode} "
                                     f"while waiting for {what}:\n{process.log_text()[-3000:]}")
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Cluster:
    """A PostgreSQL cluster of its own (Debian's binaries), run as the `postgres` user
    when we are root, as scripts/with-postgres.sh does; failing loudly when it cannot."""

    def __init__(self):
        found = os.environ.get("ABONENT_PG_BIN") or next(
            iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
        if not found or not (Path(found) / "pg_ctl").exists():
            pytest.fail("no PostgreSQL server under /usr/lib/postgresql/*/bin (apt-get install "
                        "postgresql-15, or set ABONENT_PG_BIN)", pytrace=False)
        self.bin = Path(found)
        # not under pytest's tmp_path: the postgres user cannot enter root's 0700 folder
        self.dir = Path(tempfile.mkdtemp(prefix="abonent-failover-pg."))
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://abonent@127.0.0.1:{self.port}/postgres"
        self._pg("initdb", "-D", str(self.data), "-U", "abonent", "--auth=trust", "-E", "UTF8",
                 "--no-locale")

    def _pg(self, tool: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin / tool), *args]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode:
            server_log = self.log.read_text() if self.log.exists() else ""
            pytest.fail(f"{tool} {' '.join(args[:1])} failed: {result.stderr}{server_log[-2000:]}",
                        pytrace=False)

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                 "-o", f"-p {self.port} -k {self.dir} {SERVER_OPTIONS}", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """What an operator's `pg_ctl restart` does: every connection is cut."""
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w",
                 "-t", "60", "restart")

    def remove(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Process(subprocess.Popen):
    """An `abonent` command whose output goes to a log file (a pipe nobody reads would
    fill up and stall a long-running process)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.log = log
        with log.open("w") as out:
            super().__init__(args, env=env, stdout=out, stderr=subprocess.STDOUT)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def end(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop within 15 s."""
        if self.poll() is None:
            self.terminate()
            try:
                self.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
                self.wait(timeout=15)


def installed_platform_plugins() -> list[str]:
    """The plugins pip installed in this environment (tv24, wialon, jambox…): the fleet's
    processes leave them out, so the test's database (migrated for the core and the
    process-test plugins) is all they need."""
    return sorted(e.name for e in entry_points(group="abonent.plugins"))


class Fleet:
    """`abonent` processes sharing one configuration (written to `where`), with the
    process-test plugins installed the way pip leaves a plugin."""

    def __init__(self, where: Path, database_url: str):
        self.where, self.database_url = where, database_url
        self.sink = where / "delivered.jsonl"
        self.config = where / "abonent.toml"
        self.configure()
        site = fake_distribution(where / "site", "abonent-procs",
                                 {"fileplugin": "fileplugin", "jobplugin": "jobplugin"})
        self.env = {**os.environ, "ABONENT_CONFIG": str(self.config),
                    "PYTHONPATH": os.pathsep.join([str(site), str(PROCS)])}
        for name in ("ABONENT_DATABASE_URL", "ABONENT_VAR_DIR"):
            self.env.pop(name, None)
        self.processes: list[Process] = []

    def configure(self, delay: str = "0.01", concurrency: int = 8, **outbox: object) -> None:
        """(Re)write the configuration: fileplugin's delay per delivery and delivery
        concurrency, [outbox] keys."""
        outbox = {"batch_size": 20, "poll_interval": 0.1, **outbox}
        self.config.write_text(
            f'database_url = "{self.database_url}"\nvar_dir = "{self.where / "var"}"\n'
            "[outbox]\n" + "".join(f"{key} = {value}\n" for key, value in outbox.items())
            + f"[plugins]\ndisabled = {json.dumps(installed_platform_plugins())}\n"
            + f'[plugins.fileplugin]\npath = "{self.sink}"\ndelay = {delay}\n'
            f'concurrency = {concurrency}\n')

    def start(self, *args: str) -> Process:
        name = "-".join(args).replace("/", "_")
        process = Process([str(ABONENT), *args], self.env,
                          self.where / f"{name}-{len(self.processes)}.log")
        self.processes.append(process)
        return process

    def delivered(self) -> list[dict]:
        """What fileplugin wrote: one {"event", "pid", "attempt"} per delivery made."""
        if not self.sink.exists():
            return []
        return [json.loads(line) for line in self.sink.read_text().splitlines() if line]

    def end(self) -> None:
        for process in self.processes:
            process.end()
