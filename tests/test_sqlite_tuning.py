"""The embedded SQLite file is tuned for several writers (web threads, the outbox worker,
the scheduler): WAL (readers never wait for the writer) and a busy timeout (a writer waits
for the lock instead of failing at once with "database is locked")."""
from __future__ import annotations

import threading
import time

from sqlalchemy import text

from core.db import make_engine


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10000
    engine.dispose()


def test_a_second_writer_waits_for_the_lock_instead_of_failing(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    holding = threading.Event()

    def hold():
        with engine.begin() as connection:  # BEGIN IMMEDIATE: takes the write lock
            connection.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            time.sleep(1)
    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    started = time.monotonic()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (2)"))
    waited = time.monotonic() - started
    holder.join()
    with engine.connect() as connection:
        assert sorted(connection.execute(text("SELECT n FROM t")).scalars()) == [1, 2]
    assert 0.5 < waited < 10
    engine.dispose()
