"""The REST API at 1,000,000 accounts (issue 16): GET /api/v1/accounts/<id> for random
ids, the accounts list's first page and a page deep in the list by its cursor, each in
requests a second through the server `abonent serve` runs (werkzeug's threaded WSGI
server, admin.serve.serve, in a child process without its outbox worker and scheduler)
with one kept-alive HTTP/1.1 connection, next to the raw query's rate in the same run:
the same SELECT by id (or the same page) through SQLAlchemy Core on one connection.

Goal: a read by id at least 0.05 of the raw SELECT's rate; the pages likewise. The
request and its raw query are measured in turns (slices of half a second), so the
shared machine's load weighs on both alike. A request is authenticated (the key's hash
looked up with its role), checked against its rate limit, answered by a view in the
same transaction with the account's state read, and dumped through its schema: three
statements and a few milliseconds of Python for the raw query's one. A last figure is
the floor: a request refused for want of a key (401) touches no database, so it is
what werkzeug, Flask and the API's guard alone allow; no read can be faster.
"""
from __future__ import annotations

import http.client
import json
import random
import subprocess
import sys
import time
from typing import Callable

from sqlalchemy import select

from bench.common import Figure, fresh_database, runtime_for
from bench.population import populate
from core.models import Account

#: seconds each figure and its raw query are measured for (after a warm-up), in turns
SECONDS = 3.0
ROUNDS = 6
WARM_UP = 30
PAGE = 50
RATIO_GOAL = 0.05

_SERVER = """
import sys
from admin.serve import serve
from bench.common import runtime_for
serve(runtime_for(sys.argv[1]), "127.0.0.1", 0, worker=False, scheduler=False)
"""


def _rates(*actions: Callable[[], object], seconds: float = SECONDS) -> list[float]:
    """Calls a second of each action, measured in turns (ROUNDS slices of each after a
    warm-up), so the load of the shared machine, which comes and goes, weighs on the
    request and on its raw query alike."""
    for action in actions:
        for _ in range(WARM_UP):
            action()
    done, spent = [0] * len(actions), [0.0] * len(actions)
    for _ in range(ROUNDS):
        for i, action in enumerate(actions):
            start = time.perf_counter()
            while time.perf_counter() - start < seconds / ROUNDS:
                action()
                done[i] += 1
            spent[i] += time.perf_counter() - start
    return [d / t for d, t in zip(done, spent)]


def _start_server(url: str) -> tuple[subprocess.Popen, int]:
    """`abonent serve`'s server in a child process on a free port (it prints it)."""
    child = subprocess.Popen([sys.executable, "-c", _SERVER, url], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    for line in child.stdout:
        if "serving on http://" in line:
            port = int(line.split("serving on http://", 1)[1].split("/", 1)[0].rsplit(":")[1])
            return child, port
    raise RuntimeError("the server did not start")


class Client:
    """One kept-alive connection sending a key's token (none: every answer is 401);
    every answer must have the status expected."""

    def __init__(self, port: int, token: str | None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.status = 200 if token else 401

    def get(self, path: str) -> dict:
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        assert response.status == self.status, (path, response.status, body[:300])
        return json.loads(body)


def _key(runtime, name: str) -> str:
    """A fresh administrator's key per figure: each has its own minute of rate limit."""
    from api import keys
    with runtime.session(actor="bench") as session:
        return keys.create_key(session, name, "administrator", rate_limit=keys.MAX_RATE).token


def _cases(connection, n: int, rng: random.Random) -> list[tuple[str, Callable, Callable]]:
    """(what, the request's path, the raw query) of each figure; the last one is sent
    without a key."""
    table = Account.__table__
    deep = n // 2  # the cursor of a page in the middle of the list

    def raw_page(after: int | None):
        query = select(table).order_by(table.c.id).limit(PAGE + 1)
        if after is not None:
            query = query.where(table.c.id > after)
        return lambda: connection.execute(query).all()

    def raw_by_id():
        return connection.execute(select(table).where(table.c.id == rng.randint(1, n))).one()
    return [
        (f"GET /api/v1/accounts/<random id> ({n:,} accounts)",
         lambda: f"/api/v1/accounts/{rng.randint(1, n)}", raw_by_id),
        (f"GET /api/v1/accounts?limit={PAGE} (the first page)",
         lambda: f"/api/v1/accounts?limit={PAGE}", raw_page(None)),
        (f"GET /api/v1/accounts?limit={PAGE}&after={deep:,} (a page in the middle)",
         lambda: f"/api/v1/accounts?limit={PAGE}&after={deep}", raw_page(deep)),
        # what werkzeug, Flask and the API's guard alone allow: the most a read reaches
        ("GET /api/v1/accounts/1 without a key (401, no database: the floor)",
         lambda: "/api/v1/accounts/1", raw_by_id),
    ]


def run(scale: float) -> list[Figure]:
    n = max(1000, int(1_000_000 * scale))
    url = fresh_database("api")
    started = time.perf_counter()
    populate(url, n)
    print(f"  (population of {n:,} accounts: {time.perf_counter() - started:.0f} s)",
          flush=True)
    runtime = runtime_for(url)
    server, port = _start_server(url)
    figures = []
    try:
        with runtime.engine.connect() as connection:
            cases = _cases(connection, n, random.Random(16))
            for number, (what, path, query) in enumerate(cases):
                floor = number == len(cases) - 1
                client = Client(port, None if floor else _key(runtime, f"bench-{number}"))
                served, limit = _rates(lambda: client.get(path()), query)
                client.connection.close()
                figures.append(Figure(
                    name=what, value=served, unit="requests/s", limit=limit,
                    goal="(informative)" if floor else f"ratio ≥ {RATIO_GOAL}",
                    limit_name="the same SELECT, SQLAlchemy Core" if not floor
                    else "the SELECT by id"))
    finally:
        server.terminate()
        server.wait(timeout=30)
        runtime.engine.dispose()
    return figures
