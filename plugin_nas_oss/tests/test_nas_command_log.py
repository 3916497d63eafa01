"""The command log's group commit: rows of deliveries that end while another delivery's
rows are being written go in together, in one transaction, and every caller returns only
once its rows are in."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, func, select

from core import now
from plugin_nas_oss.command_log import GroupWriter, NasCommand


@pytest.mark.postgresql_only  # a table lock holds the first write while the others queue
def test_rows_ending_during_a_write_go_in_together(nas, runtime):
    ctx, writer = runtime.context("nas_oss"), GroupWriter()
    commits = []

    def count(connection) -> None:
        if connection is not blocker:
            commits.append(connection)

    def row(n: int) -> dict:
        return {"at": now(), "agent_id": nas.agent.id, "account_id": None, "command": "user_drop",
                "transport": "coa", "target": "", "request": [], "outcome": "ack",
                "answer": f"#{n}", "delivery_key": f"k{n}", "step": 0}
    threads = [threading.Thread(target=writer.write, args=(ctx, [row(n)])) for n in range(5)]
    blocker = runtime.engine.connect()
    event.listen(runtime.engine, "commit", count)
    try:
        blocker.exec_driver_sql("LOCK TABLE nas_command IN EXCLUSIVE MODE")
        threads[0].start()  # writes at once, and waits for the lock
        while not writer._busy:
            time.sleep(0.01)
        for thread in threads[1:]:
            thread.start()
        while len(writer._open.rows) < 4:  # the four others queued behind it
            time.sleep(0.01)
        blocker.commit()
        for thread in threads:
            thread.join(10)
    finally:
        event.remove(runtime.engine, "commit", count)
        blocker.close()
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(NasCommand)) == 5
    assert len(commits) == 2  # the first write, then the four others in one
