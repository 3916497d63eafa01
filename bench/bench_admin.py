"""The admin's lists and lookups on a big database: a page of the accounts list and each
kind of search (login, phone in every form, contract number and its fragments, name,
surname and name fragments, and the NAS plugin's IP and MAC) with 1,000,000 accounts,
each next to the raw SQL of the same page (every statement the request ran, re-run on a
bare connection) as its limit. Goal: under 300 ms, with no full-table scan of the big
tables. Every other account is a NAS account with an IP (10.x.y.z from its id) and a MAC
(02:00:… from its id), so the plugin's search runs against half a million of them.
"""
from __future__ import annotations

import json
import re
import statistics
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import event, text

from bench.common import Figure, fresh_database, runtime_for
from core import migrate

PASSWORD = "bench password 1"
BIG_TABLES = {"account", "subscriber", "contract", "phone", "block", "event", "audit_log",
              "subscription", "payment", "charge"}
RUNS = 15
UNFILTERED = {"accounts": "/admin/account/", "contracts": "/admin/contract/",
              "payments": "/admin/payment/"}

FIRST = ["Ivan", "Pyotr", "Anna", "Maria", "Olga", "Sergey", "Dmitry", "Elena"]
LAST = ["Ivanov", "Petrov", "Sidorov", "Smirnov", "Kuznetsov", "Popov", "Volkov", "Sokolov"]


def populate(engine, n: int) -> None:
    """n subscribers, each with a phone, a contract with a payment, an account with its
    base service, a charge, its creation event and audit entry; every 20th account
    blocked. Written set-based, as a migration from another billing would be."""
    firsts = "ARRAY[" + ",".join(f"'{x}'" for x in FIRST) + "]"
    lasts = "ARRAY[" + ",".join(f"'{x}'" for x in LAST) + "]"
    with engine.begin() as c:
        c.execute(text("""
            INSERT INTO number_plan (id, name, pattern, reset) VALUES (1, 'Contracts', 'C-{seq:07d}', 'never');
            INSERT INTO operator (id, name, currency, vat_rate, prices_include_vat, timezone,
                                  grace_days, grace_amount, contract_plan_id)
                VALUES (1, 'Bench ISP', 'RUB', 20, true, 'UTC', 0, 0, 1);
            INSERT INTO agent (id, type, name, settings, enabled)
                VALUES (1, 'generic', 'TV', '{}', true),
                       (2, 'nas', 'NAS', '{"address": "127.0.0.1", "coa_secret": "s",
                                           "radius_secret": "s"}', true);
            INSERT INTO service (id, name, kind, method, price, archived)
                VALUES (1, 'Internet', 'periodic', 'monthly', 500, false);
            INSERT INTO tariff (id, name, charge_when_balance, charge_when_admin, charge_when_voluntary,
                                charge_when_disabled, archived)
                VALUES (1, 'Home', false, false, false, false, false);
            INSERT INTO tariff_service (tariff_id, service_id, is_base) VALUES (1, 1, true);
        """))
        c.execute(text(f"""
            INSERT INTO subscriber (id, kind, name, email, addresses, created_at)
            SELECT g, 'person', ({firsts})[1 + g % 8] || ' ' || ({lasts})[1 + (g / 8) % 8] || ' ' || g,
                   'user' || g || '@example.net', '[]', now()
            FROM generate_series(1, :n) g"""), {"n": n})
        c.execute(text("""
            INSERT INTO phone (id, subscriber_id, number)
            SELECT g, g, '7900' || lpad(g::text, 7, '0') FROM generate_series(1, :n) g"""), {"n": n})
        c.execute(text("""
            INSERT INTO contract (id, number, subscriber_id, operator_id, balance, credit_limit,
                                  do_not_block, created_at)
            SELECT g, 'C-' || lpad(g::text, 7, '0'), g, 1, (g % 3000) - 1000, 0, false, now()
            FROM generate_series(1, :n) g"""), {"n": n})
        c.execute(text("""
            INSERT INTO account (id, contract_id, login, agent_id, tariff_id, fields, created_at, updated_at)
            SELECT g, g, 'u' || lpad(g::text, 7, '0'), 1 + g % 2, 1,
                   CASE WHEN g % 2 = 1 THEN json_build_object(
                       'ip', '10.' || g / 65536 % 256 || '.' || g / 256 % 256 || '.' || g % 256,
                       'mac', '02:00:' || substr(h, 1, 2) || ':' || substr(h, 3, 2) || ':'
                              || substr(h, 5, 2) || ':' || substr(h, 7, 2))
                   ELSE '{}'::json END, now(), now()
            FROM generate_series(1, :n) g, lpad(to_hex(g), 8, '0') h"""), {"n": n})
        c.execute(text("""
            INSERT INTO subscription (account_id, service_id, state, is_base, start_on, created_at)
            SELECT g, 1, 'active', true, current_date, now() FROM generate_series(1, :n) g"""),
                  {"n": n})
        c.execute(text("""
            INSERT INTO payment (contract_id, amount, source, external_id, received_at,
                                 created_by, created_at)
            SELECT g, 500, 'bench', 'b' || g, now() - (g % 30) * interval '1 day', 'bench', now()
            FROM generate_series(1, :n) g"""), {"n": n})
        c.execute(text("""
            INSERT INTO charge (key, contract_id, account_id, subscription_id, service_id, kind,
                                period_start, period_end, quantity, amount, created_at)
            SELECT 'p:' || g, g, g, g, 1, 'periodic', current_date - g % 30,
                   current_date - g % 30, 1, 16.67, now()
            FROM generate_series(1, :n) g"""), {"n": n})
        c.execute(text("""
            INSERT INTO event (name, account_id, contract_id, payload, created_at)
            SELECT 'account_created', g, g, '{}', now() FROM generate_series(1, :n) g"""),
                  {"n": n})
        c.execute(text("""
            INSERT INTO audit_log (at, actor, action, object_type, object_id, changes)
            SELECT now(), 'migration', 'create', 'account', g::text, '{}'
            FROM generate_series(1, :n) g"""), {"n": n})
        c.execute(text("""
            INSERT INTO block (account_id, source, start_at, applied_at, created_by)
            SELECT g, 'admin', now() - interval '1 day', now() - interval '1 day', 'bench'
            FROM generate_series(20, :n, 20) g"""), {"n": n})
        for table in ("subscriber", "phone", "contract", "account"):
            c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"), {"n": n})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))


@contextmanager
def captured(engine) -> Iterator[list[tuple[str, object]]]:
    """The statements (with their parameters) run on `engine` inside the block."""
    statements: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def median_ms(action, runs: int = RUNS) -> float:
    action()  # warm caches and the connection pool
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def raw_ms(engine, statements) -> float:
    """The same statements on a bare DBAPI cursor: what the database alone needs."""
    def run():
        with engine.connect() as connection:
            cursor = connection.connection.cursor()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                if cursor.description:
                    cursor.fetchall()
    return median_ms(run)


def full_scans(engine, statements) -> list[str]:
    """Big tables a statement reads whole (a Seq Scan node in its plan)."""
    found = set()
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            stack = [cursor.fetchone()[0][0]["Plan"]]
            while stack:
                node = stack.pop()
                if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
                    found.add(node["Relation Name"])
                stack.extend(node.get("Plans", []))
        connection.rollback()
    return sorted(found)


def _client(runtime):
    from admin import staff
    from admin.app import create_app
    app = create_app(runtime)
    with runtime.session(actor="bench") as s:
        staff.set_password(s, staff.first_administrator(s).id, PASSWORD)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    response = client.post("/login", data={"login": staff.FIRST_ADMIN, "password": PASSWORD,
                                            "csrf_token": token})
    assert response.status_code == 302, "bench could not log in"
    return client


def nas_address(g: int) -> tuple[str, str]:
    """The IP and MAC `populate` gives NAS account `g` (an odd id)."""
    h = f"{g:08x}"
    return (f"10.{g // 65536 % 256}.{g // 256 % 256}.{g % 256}",
            f"02:00:{h[0:2]}:{h[2:4]}:{h[4:6]}:{h[6:8]}")


def run(scale: float) -> list[Figure]:
    import plugin_nas_oss.plugin
    n = max(1000, int(1_000_000 * scale))
    url = fresh_database("admin")
    runtime = runtime_for(url, plugins=[("nas_oss", plugin_nas_oss.plugin)])
    migrate.upgrade(runtime.engine, branches=migrate.Branches(enabled={
        "nas_oss": Path(plugin_nas_oss.plugin.__file__).parent / "migrations"}))
    engine = runtime.engine
    populate(engine, n)
    client = _client(runtime)
    middle = n // 2
    ip, mac = nas_address(middle + 1)
    name = f"{FIRST[middle % 8]}+{LAST[middle // 8 % 8]}+{middle}"  # populate's name of it
    pages = {
        "accounts list, first page": UNFILTERED["accounts"],
        "accounts list, page 200": "/admin/account/?page=200",
        "contracts list, first page": UNFILTERED["contracts"],
        "payments list, first page": UNFILTERED["payments"],
        "search by login": f"/admin/account/?search=u{middle:07d}",
        "search by phone": f"/admin/account/?search=%2B7+900+{middle:07d}",
        "search by phone typed with 8": f"/admin/account/?search=8+900+{middle:07d}",
        "search by phone without the country code": f"/admin/account/?search=900{middle:07d}",
        "search by a phone's last 4 digits": "/admin/account/?search=4567",
        "search by contract number": f"/admin/account/?search=C-{middle:07d}",
        "search by contract number fragment": f"/admin/account/?search={middle // 10:06d}",
        "search by name": f"/admin/account/?search={name}",
        "search by surname (1 name in 8)": "/admin/account/?search=Petrov",
        "search by name fragment": f"/admin/account/?search={name[2:]}",
        "search by IP": f"/admin/account/?search={ip}",
        "search by IP prefix": f"/admin/account/?search={ip.rsplit('.', 1)[0]}.",
        "search by MAC": f"/admin/account/?search={mac.upper().replace(':', '-')}",
        "search by a MAC's last 4 hex digits": f"/admin/account/?search={mac[-5:]}",
        "search refused (2 characters)": "/admin/account/?search=ab",
        "lookup box (phone) to the card": f"/admin/search/?q=7900{middle:07d}",
        "lookup box (MAC) to the card": f"/admin/search/?q={mac}",
        "lookup box (surname), the lists": "/admin/search/?q=Petrov",
        "account card": f"/admin/card/{middle}",
        "dashboard, figures recomputed": "/admin/?refresh=1",
    }
    for page in UNFILTERED.values():  # their totals, computed once a minute (listing.py):
        client.get(page)              # the list pages below are the rest of that minute
    figures = []
    for name, page in pages.items():
        def get(page=page):
            response = client.get(page)
            assert response.status_code in (200, 302), (page, response.status_code)
        with captured(engine) as statements:
            get()
        found = json.dumps(full_scans(engine, statements)) if statements else "[]"
        figures.append(Figure(
            name=f"{name} ({n:,} accounts; full scans: {found})", value=median_ms(get),
            unit="ms", goal="< 300 ms", limit=raw_ms(engine, statements),
            limit_name="SQL of the same page", higher_is_better=False))
    figures += unfiltered_totals(engine, client, n)
    engine.dispose()
    return figures


def unfiltered_totals(engine, client, n: int) -> list[Figure]:
    """The unfiltered lists' pages when their totals are due (once a minute per process:
    admin/views/listing.py), each next to its raw SQL; and the COUNT(*) the planner's
    estimate spares every page."""
    from admin.views import listing
    figures = []
    for name, page in UNFILTERED.items():
        def get(page=page):
            listing._everything.clear()
            assert client.get(page).status_code == 200, page
        with captured(engine) as statements:
            get()
        figures.append(Figure(
            name=f"{name} list, totals recomputed ({n:,} accounts)", value=median_ms(get),
            unit="ms", goal="(once a minute)", limit=raw_ms(engine, statements),
            limit_name="SQL of the same page", higher_is_better=False))
    count = [("SELECT count(*) FROM account", None)]
    figures.append(Figure(name=f"COUNT(*) of the accounts ({n:,}), spared by the estimate",
                          value=raw_ms(engine, count), unit="ms", goal="(informative)",
                          higher_is_better=False))
    return figures
