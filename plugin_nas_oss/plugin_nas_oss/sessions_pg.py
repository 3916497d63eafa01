"""A batch of accounting on PostgreSQL: the sessions' upsert and the command log rows of
the sessions it stopped, in ONE statement whose text never changes.

Why: the RADIUS server writes every batch of Accounting-Requests before it may answer
them (RFC 2866), so the writer's transaction is the server's pace. SQLAlchemy's
multi-row upsert is a new statement text for every batch size — built in Python, parsed
by psycopg, parsed and planned by PostgreSQL each time — and the rad_acc_stop rows were a
second statement. Here the rows travel as one JSON document each (`json_to_recordset`;
json.dumps is C, while psycopg dumps arrays in Python and an array per column cost more
than the rest of a batch), so the text never changes, psycopg prepares it once (after
`prepare_threshold` uses) and a batch is BEGIN, this statement, COMMIT.

The semantics are sessions.record_all's (see its module): a row per (agent, session id)
of the folded batch; on conflict the earlier values are kept where the packet has none,
counters only grow, a stopped session stays stopped with its first stop's time and cause.
The log rows are candidates, one per Stop of the batch: each is inserted only when the
upsert's RETURNING says the batch stopped its session now (stopped_at is this batch's
time), so a Stop sent again logs nothing. Data-modifying CTEs run exactly once and see
one snapshot; the log CTE reads the upsert's RETURNING, not the table.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core import json_dumps

from plugin_nas_oss.command_log import fitted

_RECORD = """
WITH batch AS (
    SELECT * FROM json_to_recordset(%(batch)s::json) AS b(
        agent_id integer, session_id varchar, account_id integer, username varchar,
        framed_ip varchar, mac varchar, status varchar, octets_in bigint, octets_out bigint,
        terminate_cause varchar)
), written AS (
    INSERT INTO nas_session AS s (agent_id, session_id, account_id, username, framed_ip,
                                  mac, started_at, updated_at, stopped_at, octets_in,
                                  octets_out, terminate_cause)
    SELECT agent_id, session_id, account_id, username, framed_ip, mac, %(at)s, %(at)s,
           CASE WHEN status = 'Stop' THEN %(at)s::timestamptz END, octets_in, octets_out,
           CASE WHEN status = 'Stop' THEN terminate_cause END
    FROM batch  -- 'Stop' is sessions.STOP
    ON CONFLICT (agent_id, session_id) DO UPDATE SET
        account_id = coalesce(excluded.account_id, s.account_id),
        username = coalesce(nullif(excluded.username, ''), s.username),
        framed_ip = coalesce(excluded.framed_ip, s.framed_ip),
        mac = coalesce(excluded.mac, s.mac),
        updated_at = excluded.updated_at,
        octets_in = greatest(s.octets_in, excluded.octets_in),
        octets_out = greatest(s.octets_out, excluded.octets_out),
        stopped_at = coalesce(s.stopped_at, excluded.stopped_at),
        terminate_cause = CASE WHEN s.stopped_at IS NULL THEN excluded.terminate_cause
                               ELSE s.terminate_cause END
    RETURNING s.agent_id, s.session_id, s.stopped_at = %(at)s AS stopped_now
), logged AS (
    INSERT INTO nas_command (at, agent_id, account_id, command, transport, target, request,
                             outcome, answer, delivery_key, step)
    SELECT l.at, l.agent_id, l.account_id, l.command, l.transport, l.target, l.request,
           l.outcome, l.answer, l.delivery_key, l.step
    FROM json_to_recordset(%(log)s::json) AS l(
        session_agent integer, session_id varchar, at timestamptz, agent_id integer,
        account_id integer, command varchar, transport varchar, target varchar, request json,
        outcome varchar, answer varchar, delivery_key varchar, step integer)
    JOIN written w ON w.agent_id = l.session_agent AND w.session_id = l.session_id
    WHERE w.stopped_now
)
SELECT agent_id, session_id FROM written WHERE stopped_now
"""


def record(session: Session, rows: list, at: datetime, log_rows: dict) -> set[tuple[int, str]]:
    """Write the folded batch `rows` (sessions.Accounting, one per session) and, of
    `log_rows` ((agent id, session id) → a command log row), those whose session this
    batch stopped; returns the keys of the sessions stopped now."""
    batch = json_dumps([vars(acct) for acct in rows])
    log = json_dumps([{**fitted(row), "session_agent": agent_id, "session_id": session_id}
                      for (agent_id, session_id), row in log_rows.items()])
    # psycopg's own cursor: SQLAlchemy's execution of a text statement cost twice what
    # psycopg spends on it, and there is nothing here for it to do (the session's
    # connection() has begun its transaction, which the caller commits)
    with session.connection().connection.driver_connection.cursor() as cursor:
        cursor.execute(_RECORD, {"at": at, "batch": batch, "log": log})
        return {(agent_id, session_id) for agent_id, session_id in cursor}
