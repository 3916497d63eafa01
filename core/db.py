"""Engines and transactions for SQLite (embedded) and PostgreSQL (production).

SQLite runs in WAL mode with foreign keys on, and every transaction starts with
`BEGIN IMMEDIATE`: the web thread, the outbox worker and the scheduler share one file,
and taking the write lock up front turns would-be deadlocks into short waits.

Long-running processes (serve, worker, scheduler) outlive a database that goes away and
comes back: `unavailable` tells a lost database from a bug, `Reconnect` paces the
retries and says so once per outage, `wait_for_database` holds a start-up until it answers.
"""
from __future__ import annotations

import json
import logging
import threading
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from time import monotonic

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_dumps(value) -> str:
    """JSON for the database and for payloads: Decimals as strings, dates in ISO form."""
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def jsonable(value):
    """`value` with Decimals, dates and sets turned into JSON types (what a payload stores)."""
    return json.loads(json_dumps(value))


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for `url`; creates the folder of an SQLite file if needed."""
    parsed = make_url(url)
    options = {"json_serializer": json_dumps, "future": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        # pre-ping: a pooled connection killed by a database restart is replaced, not used;
        # connect_timeout: an unreachable host fails an attempt instead of hanging it
        options.update(pool_pre_ping=True, pool_size=10, max_overflow=20,
                       connect_args={"connect_timeout": 10})
    options.update(kwargs)
    engine = create_engine(parsed, **options)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(bind) -> bool:
    return bind.dialect.name == "postgresql"


def unavailable(exc: BaseException) -> bool:
    """Is `exc` the database being away (down, restarting, unreachable) rather than a bug?

    Connection refused, "terminating connection due to administrator command" and "the
    database system is starting up" are OperationalErrors; a connection found dead in the
    middle of a statement is any DBAPIError flagged `connection_invalidated`."""
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


def reason_of(exc: BaseException) -> str:
    """The first line of what the database driver said (for a one-line log)."""
    message = str(getattr(exc, "orig", None) or exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__


class Reconnect:
    """Back-off while the database is away: 0.5 s doubling up to `ceiling` seconds.

    Logs one warning when an outage starts and one line when the database answers again,
    not a traceback per attempt: an operator reading the log sees how long it lasted."""

    def __init__(self, log: logging.Logger, who: str, first: float = 0.5,
                 ceiling: float = 5.0):
        self.log, self.who, self.first, self.ceiling = log, who, first, ceiling
        self.failures = 0
        self._since: float | None = None

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> float:
        """Note a failed attempt; returns how many seconds to wait before the next one."""
        if self._since is None:
            self._since = monotonic()
            self.log.warning("%s: database unavailable (%s); retrying with back-off until it "
                             "is back", self.who, reason_of(exc))
        self.failures += 1
        return min(self.ceiling, self.first * 2 ** (self.failures - 1))

    def succeeded(self) -> None:
        if self._since is not None:
            self.log.warning("%s: database is back after %.1f s", self.who,
                             monotonic() - self._since)
        self.failures, self._since = 0, None


def wait_for_database(engine: Engine, stop: threading.Event, log: logging.Logger,
                      who: str) -> bool:
    """Block until the database answers (True) or `stop` is set (False): a process started
    before its database waits for it instead of exiting."""
    reconnect = Reconnect(log, who)
    while not stop.is_set():
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            if not unavailable(exc):
                raise
            stop.wait(reconnect.failed(exc))
            continue
        reconnect.succeeded()
        return True
    return False
