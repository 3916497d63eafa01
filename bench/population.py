"""Large populations for benchmarks, written set-based with generate_series on PostgreSQL:
an operator, a tariff with a daily and a monthly base service, and N subscribers each with
a contract, an account and its base subscriptions (a million in well under a minute);
and the counter-service accounts the CDR and Wialon benchmarks rate."""
from __future__ import annotations

from datetime import date

from sqlalchemy import text

from core.db import make_engine

STATEMENTS = """
INSERT INTO operator (id, name, currency, vat_rate, prices_include_vat, timezone,
                      grace_days, grace_amount)
VALUES (1, 'Bench ISP', 'RUB', 20, true, 'UTC', 0, 0);
INSERT INTO agent (id, type, name, settings, enabled) VALUES (1, 'generic', 'NAS', '{}', true);
INSERT INTO service (id, name, kind, method, price, archived)
VALUES (1, 'Daily fee', 'periodic', 'daily', 4.00, false),
       (2, 'Monthly fee', 'periodic', 'monthly', 300.00, false);
INSERT INTO tariff (id, name, charge_when_balance, charge_when_admin, charge_when_voluntary,
                    charge_when_disabled, archived)
VALUES (1, 'Bench', false, false, false, false, false);
INSERT INTO tariff_service (tariff_id, service_id, is_base) VALUES (1, 1, true), (1, 2, true);
INSERT INTO subscriber (id, kind, name, addresses, created_at)
SELECT i, 'person', 'Subscriber ' || i, '[]', now() FROM generate_series(1, :n) i;
INSERT INTO phone (subscriber_id, number)
SELECT i, (79000000000 + i)::text FROM generate_series(1, :n) i;
INSERT INTO contract (id, number, subscriber_id, operator_id, balance, credit_limit,
                      do_not_block, created_at)
SELECT i, 'D-' || lpad(i::text, 7, '0'), i, 1, CAST(:balance AS numeric), 0, false, now()
FROM generate_series(1, :n) i;
INSERT INTO payment (contract_id, amount, source, external_id, received_at, created_by, created_at)
SELECT i, CAST(:balance AS numeric), 'bench', 'open-' || i, now(), 'bench', now()
FROM generate_series(1, :n) i WHERE CAST(:balance AS numeric) > 0;
INSERT INTO account (id, contract_id, login, agent_id, tariff_id, ext_id, fields,
                     created_at, updated_at)
SELECT i, i, 'user' || i, 1, 1, i::text, '{}', now(), now() FROM generate_series(1, :n) i;
INSERT INTO subscription (account_id, service_id, state, is_base, start_on, created_at)
SELECT i, s, 'active', true, :start, now() FROM generate_series(1, :n) i, (VALUES (1), (2)) v(s);
"""


def populate(url: str, accounts: int, *, start: date = date(2026, 11, 1),
             balance: str = "1000") -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in STATEMENTS.split(";\n"):
            if statement.strip():
                connection.execute(text(statement), {"n": accounts, "start": start,
                                                     "balance": balance})
        for table in ("operator", "subscriber", "contract", "account", "agent", "service",
                      "tariff"):
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


COUNTER_ACCOUNTS = (
    "INSERT INTO subscriber (id, kind, name, addresses, created_at) "
    "SELECT g, :kind, :name || ' ' || g, '[]', now() FROM generate_series(1, :n) g",
    "INSERT INTO contract (id, number, subscriber_id, operator_id, balance, credit_limit, "
    "do_not_block, created_at) SELECT g, 'B-' || g, g, :operator, 0, 1000000000, false, "
    "now() FROM generate_series(1, :n) g",
    "INSERT INTO account (id, contract_id, login, agent_id, tariff_id, ext_id, fields, "
    "created_at, updated_at) SELECT g, g, :login || g, :agent, :tariff, g::text, '{}', "
    "now(), now() FROM generate_series(1, :n) g",
    "INSERT INTO subscription (account_id, service_id, state, is_base, start_on, "
    "created_at) SELECT g, :service, 'active', true, CAST(:day AS date), now() "
    "FROM generate_series(1, :n) g",
)


def counter_accounts(session, n: int, *, operator: int, agent: int, tariff: int, service: int,
                     day, kind: str = "person", name: str = "Bench",
                     login: str = "bench") -> None:
    """`n` subscribers, each with a contract (credit limit high: blocking is not what is
    measured) and an account whose ext_id is its number, subscribed to the counter
    `service` from `day`; ids 1…n, the sequences moved past them."""
    values = {"n": n, "operator": operator, "agent": agent, "tariff": tariff,
              "service": service, "day": day, "kind": kind, "name": name, "login": login}
    for statement in COUNTER_ACCOUNTS:
        session.execute(text(statement), values)
    for table in ("subscriber", "contract", "account"):
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"),
                        values)


def analyze(engine) -> None:
    """Fresh planner statistics after a bulk load."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
