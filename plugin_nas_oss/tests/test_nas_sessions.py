"""The accounting table's batch write (sessions.record_all) on both databases: SQLite's
upsert and PostgreSQL's one statement (sessions_pg) keep the same promises — a packet
written twice writes the same row, a stop before its start creates the row, a stopped
session stays stopped with its first stop's time and cause, counters only grow, and
the log row of a stop is written once per session, in the same transaction."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from plugin_nas_oss.command_log import NasCommand
from plugin_nas_oss.sessions import INTERIM, START, STOP, Accounting, NasSession, record_all

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def test_a_batch_twice_stop_before_start_and_after_stop_keep_one_row_and_one_log_each(
        nas, session):
    account = nas.account("bob")
    agent = nas.agent.id

    def packet(session_id, status, octets=0, cause=None, account_id=account.id):
        return Accounting(agent_id=agent, status=status, session_id=session_id,
                          username="bob" if account_id else "", account_id=account_id,
                          framed_ip="10.0.0.5" if account_id else None, mac=None,
                          octets_in=octets, octets_out=3 * octets, terminate_cause=cause)

    def stop_row(acct):  # what the RADIUS server logs for rad_acc_stop, long answer and all
        return {"at": T0, "agent_id": acct.agent_id, "account_id": acct.account_id,
                "command": "rad_acc_stop", "transport": "coa", "target": acct.session_id,
                "request": [["Acct-Session-Id", acct.session_id], ["User-Name", "бob"]],
                "outcome": "skipped", "delivery_key": None, "step": None,
                "answer": f"{acct.terminate_cause}: {acct.octets_in} in " + "x" * 1200}

    def write(minute, *packets):
        stopped = record_all(session, list(packets), at=T0 + timedelta(minutes=minute),
                             log=stop_row)
        session.commit()
        return sorted(acct.session_id for acct in stopped)

    start = packet("s1", START, 100)
    assert write(1, start, start, packet("s2", STOP, 50, "Lost-Carrier", account_id=None),
                 packet("s3", START), packet("s3", STOP, 10, "Idle-Timeout")) == ["s2", "s3"]
    assert write(2, start, packet("s1", INTERIM, 500),  # the start again, then counters
                 packet("s2", STOP, 50, "Lost-Carrier", account_id=None),  # stop again
                 packet("s2", START, 20)) == []  # a late start fills in, does not reopen
    assert write(3, packet("s1", STOP, 400, "User-Request")) == ["s1"]  # 400 < 500: kept
    assert write(4, packet("s1", INTERIM, 900), packet("s1", STOP, 950, "Admin-Reset"),
                 packet("s3", STOP, 10, "Idle-Timeout")) == []  # after the stop

    rows = {row.session_id: row for row in session.scalars(select(NasSession))}
    assert {key: (row.account_id, row.octets_in, row.octets_out, row.stopped_at,
                  row.terminate_cause, row.started_at, row.updated_at)
            for key, row in rows.items()} == {
        "s1": (account.id, 950, 2850, T0 + timedelta(minutes=3), "User-Request",
               T0 + timedelta(minutes=1), T0 + timedelta(minutes=4)),
        "s2": (account.id, 50, 150, T0 + timedelta(minutes=1), "Lost-Carrier",
               T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)),
        "s3": (account.id, 10, 30, T0 + timedelta(minutes=1), "Idle-Timeout",
               T0 + timedelta(minutes=1), T0 + timedelta(minutes=4))}
    assert (rows["s2"].username, rows["s2"].framed_ip) == ("bob", "10.0.0.5")
    logged = session.scalars(select(NasCommand).order_by(NasCommand.target)).all()
    assert [(c.target, c.account_id, c.at, c.request[1], c.answer[:24], len(c.answer))
            for c in logged] == [
        ("s1", account.id, T0, ["User-Name", "бob"], "User-Request: 400 in xxx", 1000),
        ("s2", None, T0, ["User-Name", "бob"], "Lost-Carrier: 50 in xxxx", 1000),
        ("s3", account.id, T0, ["User-Name", "бob"], "Idle-Timeout: 10 in xxxx", 1000)]


def test_a_batch_without_stops_or_a_log_writes_sessions_only(nas, session):
    """Callers that log nothing (the sync's tests, a start-only batch) write no log row."""
    acct = Accounting(agent_id=nas.agent.id, status=STOP, session_id="lone", username="x",
                      account_id=None, framed_ip=None, mac=None, octets_in=1, octets_out=2,
                      terminate_cause="NAS-Reboot")
    assert record_all(session, [acct], at=T0) == [acct]
    session.commit()
    assert session.scalars(select(NasCommand)).all() == []
    (row,) = session.scalars(select(NasSession))
    assert (row.stopped_at, row.terminate_cause) == (T0, "NAS-Reboot")
