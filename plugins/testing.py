"""A pytest plugin for plugin authors (and for Abonent's own tests), loaded automatically
through the `pytest11` entry point once `abonent` is installed: a plugin's own tests use
it from the plugin's folder, without Abonent's source checkout. docs/writing-plugins.md,
"Testing it", shows every fixture at work.

Every test that uses a database fixture runs once per backend given by `--db`
(default: both sqlite and postgresql). PostgreSQL is `ABONENT_TEST_POSTGRES_URL` when set,
otherwise a throwaway cluster the kit starts itself (plugins.testing_pg); when neither is
possible the test fails saying what to install or set: PostgreSQL is never skipped.

Fixtures:
- `abonent_plugins`: override it to return [(name, plugin object or module), …] to load.
- `abonent_config`: override it to return configuration sections ({"outbox": {…}}).
- `runtime`: a `Runtime` on a migrated database (the core's schema and every loaded
  plugin's own branch), emptied after each test.
- `session`: a transaction on it for the test's own reads and writes. Every helper below
  (and `factory`, `drain`) commits it first, so the rows the test wrote are visible to the
  outbox's own sessions, and SQLite's write lock, which an open transaction that has
  written holds, is free (otherwise the outbox's write waits 30 s: "database is locked").
  Code under test that opens its own transactions (`ctx.session()`) needs the same:
  `session.commit()` before calling it.
- `factory`: builds operators, tariffs, agents, subscribers, contracts, accounts.
- `drain`: `drain()` delivers the outbox until nothing is due; returns the count.
- `block(account, source="admin", …)`, `lift(account, source="admin")`,
  `pay(contract, amount, …)`: block, lift and pay through the service layer, as a
  manager would, each in its own committed transaction; events are written as in
  production.
- `deliveries(plugin=None, state=None)`, `dead_letters(plugin=None)`: the outbox's
  deliveries (`DeliveryRecord`s, in delivery id order).
- `clock`: the core's clock, frozen when a test sets it: `clock.set(at)`,
  `clock.advance(minutes=5)` (back-off and RetryLater come due), `clock.now`.
- `admin_client`: `admin_client(role="administrator")` → an `AdminClient` (Flask's test
  client logged in as a manager of that role; `get`, `post` with the CSRF token, `text`).
- `recorder`: a `RecordingPlugin()`; `RecordingPlugin(agent_types=None)` records every
  notification it receives, in event order (`.events`, `.names()`).
- `fault_proxy`: `fault_proxy(upstream_url)` starts a `FaultProxy` (plugins.faults) in front
  of a platform, stopped after the test: error statuses, hangs, applied calls whose answer
  is lost, garbled bodies.
- `BillingDays` (plugins.billing_days): run several consecutive billing days and assert the
  money of each.
"""
from __future__ import annotations

import bisect
import itertools
import os
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

import pytest
from sqlalchemy import MetaData, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from core import migrate
from core.agents import AgentType
from core.blocking import lift_block, set_block
from core.clock import frozen, now
from core.config import validate_settings
from core.db import make_engine
from core.fields import Field
from core.hookspecs import NOTIFICATIONS
from core.models import Agent, NumberPlan, Operator, Service, Tariff, TariffService
from core.models.outbox import Delivery, OutboxEvent
from core.services.accounts import create_account
from core.services.customers import create_contract, create_subscriber
from core.services.payments import record_payment
from plugins import testing_pg
from plugins.billing_days import BillingDays, DayMoney  # noqa: F401  (for plugin authors)
from plugins.faults import FaultProxy
from plugins.testing_admin import AdminClient, logged_in

BACKENDS = ("sqlite", "postgresql")
PG_ENV = testing_pg.PG_ENV
_counter = itertools.count()


def pytest_addoption(parser):
    group = parser.getgroup("abonent")
    group.addoption("--db", default=",".join(BACKENDS),
                    help="database backends to run database tests on (default: sqlite,postgresql)")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: the test is about SQLite behaviour")
    config.addinivalue_line("markers", "postgresql_only: the test needs PostgreSQL features")


def pytest_generate_tests(metafunc):
    if "abonent_backend" not in metafunc.fixturenames:
        return
    backends = [b.strip() for b in metafunc.config.getoption("--db").split(",") if b.strip()]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"--db: unknown backend(s) {', '.join(sorted(unknown))}")
    for mark, only in (("sqlite_only", "sqlite"), ("postgresql_only", "postgresql")):
        if metafunc.definition.get_closest_marker(mark):
            backends = [b for b in backends if b == only]
    metafunc.parametrize("abonent_backend", backends, scope="session")


def pytest_collection_modifyitems(config, items):
    """Deselect (rather than skip) tests whose backend was not asked for with --db."""
    keep, dropped = [], []
    for item in items:
        wants = "abonent_backend" in getattr(item, "fixturenames", ())
        params = getattr(getattr(item, "callspec", None), "params", {})
        has = params.get("abonent_backend") in BACKENDS
        (dropped if wants and not has else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_unconfigure(config):
    testing_pg.stop()


def postgres_url() -> str:
    """The session's PostgreSQL server (see plugins.testing_pg); fails the test, saying
    what to install or set, when there is none."""
    try:
        return testing_pg.server_url()
    except testing_pg.NoPostgres as exc:
        pytest.fail(str(exc), pytrace=False)


def create_postgres_database(base_url: str, prefix: str = "abonent_test") -> str:
    """Create an empty database in the test cluster; returns its URL."""
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def abonent_database_url(abonent_backend, tmp_path_factory) -> str:
    if abonent_backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'abonent.db'}"
    return create_postgres_database(postgres_url())


class _Database:
    """A migrated database and the rows the migrations seeded, restored after each test."""

    def __init__(self, url: str):
        from plugins.host import installed_branches
        self.url = url
        self.engine = make_engine(url)
        self.metadata: MetaData | None = None
        self.seeds: dict = {}
        self.branches: set = set()  # (plugin, folder) of the branches migrated
        self.upgrade(installed_branches())

    def upgrade(self, branches: migrate.Branches) -> None:
        """Migrate to the heads of the core and of these plugins' branches (each once a
        session: the installed plugins' at once, a test's own plugin's when it first
        runs); the tables they add join what `reset()` empties and refills."""
        wanted = set(branches.enabled.items())
        if self.metadata is not None and wanted <= self.branches:
            return
        migrate.upgrade(self.engine, branches=branches)
        self.branches |= wanted
        self.metadata = MetaData()
        self.metadata.reflect(self.engine)
        known = {table.name for table in self.seeds}
        with self.engine.connect() as connection:
            for table in self.metadata.sorted_tables:
                if table.name != "alembic_version" and table.name not in known:
                    rows = [dict(r._mapping) for r in connection.execute(select(table))]
                    if rows:
                        self.seeds[table] = rows
        self.seeds = {self.metadata.tables[table.name]: rows
                      for table, rows in self.seeds.items()}

    def reset(self) -> None:
        tables = [t for t in self.metadata.sorted_tables if t.name != "alembic_version"]
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    connection.execute(table.delete())
            for table, rows in self.seeds.items():
                connection.execute(insert(table), rows)


@pytest.fixture(scope="session")
def abonent_database(abonent_database_url) -> _Database:
    database = _Database(abonent_database_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def abonent_plugins() -> list[tuple[str, Any]]:
    """Override: the plugins to load besides the built-in "core", as (name, plugin)."""
    return []


@pytest.fixture
def abonent_config() -> dict[str, Any]:
    """Override: configuration sections, e.g. {"plugins": {"tv24": {…}}}."""
    return {}


TEST_DEFAULTS = {"outbox": {"backoff_base": "0", "backoff_max": "0", "poll_interval": "0.05"}}


@pytest.fixture
def abonent_settings(abonent_database, abonent_config, tmp_path):
    data: dict[str, Any] = {"database_url": abonent_database.url,
                            "var_dir": str(tmp_path / "var")}
    for section in set(TEST_DEFAULTS) | {k for k, v in abonent_config.items() if isinstance(v, dict)}:
        data[section] = {**TEST_DEFAULTS.get(section, {}), **abonent_config.get(section, {})}
    data.update({k: v for k, v in abonent_config.items() if not isinstance(v, dict)})
    return validate_settings(data, "tests")


@pytest.fixture
def runtime(abonent_database, abonent_settings, abonent_plugins):
    from plugins.host import branches_of, build_runtime
    built = build_runtime(abonent_settings, extra_plugins=abonent_plugins,
                          load_entrypoints=False, engine=abonent_database.engine)
    abonent_database.upgrade(branches_of(built.pm, abonent_settings))
    abonent_database.reset()
    yield built


@pytest.fixture
def _held_sessions() -> list:
    """The `session` fixture's transaction, when the test asked for it."""
    return []


@pytest.fixture
def settle(_held_sessions) -> Callable[[], None]:
    """settle() commits the test's `session` (if any), as every helper does first."""
    def commit() -> None:
        for held in _held_sessions:
            transaction = held.get_transaction()
            if transaction is not None and transaction.is_active:  # not one a failure spoilt
                held.commit()
    return commit


@pytest.fixture
def session(runtime, _held_sessions):
    with runtime.session(actor="test") as s:
        _held_sessions.append(s)
        yield s


@pytest.fixture
def drain(runtime, settle):
    from plugins.outbox import Outbox
    outbox = Outbox(runtime, "test-worker")

    def deliver(max_rounds: int = 10_000) -> int:
        settle()
        return outbox.drain(max_rounds)
    return deliver


class Factory:
    """Builds valid objects in their own committed transactions; returns them detached
    (their columns loaded), so a test can pass their ids to the code under test."""

    def __init__(self, runtime, settle: Callable[[], None] = lambda: None):
        self.runtime = runtime
        self.settle = settle

    def _session(self):
        self.settle()  # the test's own `session` first: see the module's docstring
        return self.runtime.session(actor="test")

    def operator(self, **kw) -> Operator:
        with self._session() as s:
            existing = s.scalars(select(Operator).order_by(Operator.id)).first()
            if existing is not None and not kw:
                return existing
            contracts = NumberPlan(name=f"contracts-{next(_counter)}", pattern="C-{seq:05d}")
            invoices = NumberPlan(name=f"invoices-{next(_counter)}",
                                  pattern="INV-{year}-{seq:05d}", reset="yearly")
            s.add_all([contracts, invoices])
            s.flush()
            operator = Operator(**{"name": "Test ISP", "currency": "RUB",
                                   "vat_rate": Decimal("20"), "timezone": "UTC",
                                   "contract_plan_id": contracts.id,
                                   "invoice_plan_id": invoices.id, **kw})
            s.add(operator)
        return operator

    def service(self, name: str | None = None, kind: str = "periodic", price: str = "300.00",
                method: str | None = "monthly", **kw) -> Service:
        with self._session() as s:
            service = Service(name=name or f"service {next(_counter)}", kind=kind,
                              price=Decimal(price), method=None if kind == "one_time" else method,
                              **kw)
            s.add(service)
        return service

    def tariff(self, name: str | None = None, base: list[Service] | None = None,
               extra: list[Service] | None = None, **kw) -> Tariff:
        """A tariff; without `base`, one monthly base service of 300.00 is made for it."""
        base = [self.service()] if base is None else base
        with self._session() as s:
            tariff = Tariff(name=name or f"tariff {next(_counter)}", **kw)
            tariff.items = ([TariffService(service_id=x.id, is_base=True) for x in base]
                            + [TariffService(service_id=x.id) for x in extra or []])
            s.add(tariff)
        return tariff

    def agent(self, type: str = "generic", name: str | None = None, **settings) -> Agent:
        with self._session() as s:
            agent = Agent(type=type, name=name or f"agent {next(_counter)}", settings=settings)
            s.add(agent)
        return agent

    def subscriber(self, **kw):
        self.operator()
        with self._session() as s:
            return create_subscriber(s, **{"name": f"Subscriber {next(_counter)}", **kw})

    def contract(self, subscriber=None, **kw):
        subscriber = subscriber or self.subscriber()
        with self._session() as s:
            return create_contract(s, subscriber.id, **kw)

    def account(self, contract=None, tariff=None, agent=None, login: str | None = None,
                **kw):
        contract = contract or self.contract()
        tariff = tariff or self.tariff()
        agent = agent or self.agent()
        with self._session() as s:
            return create_account(s, contract.id, login=login or f"login{next(_counter)}",
                                  agent_id=agent.id, tariff_id=tariff.id, **kw)


@pytest.fixture
def factory(runtime, settle) -> Factory:
    return Factory(runtime, settle)


def _id(thing: Any) -> Any:
    """An object's id, or the id itself: helpers take either."""
    return getattr(thing, "id", thing)


@pytest.fixture
def block(factory):
    """block(account, source="admin", *, start_at=None, end_at=None, reason=None) → the
    Block, set through the service layer (core.set_block) as a manager sets it."""
    def run(account, source: str = "admin", **kw):
        with factory._session() as s:
            return set_block(s, _id(account), source, **kw)
    return run


@pytest.fixture
def lift(factory):
    """lift(account, source="admin", *, reason=None) → the Block lifted (core.lift_block)."""
    def run(account, source: str = "admin", **kw):
        with factory._session() as s:
            return lift_block(s, _id(account), source, **kw)
    return run


@pytest.fixture
def pay(factory):
    """pay(contract, amount, *, source="test", external_id=None, received_at=None) → the
    Payment (core.record_payment: the balance moves, balance blocks are lifted)."""
    def run(contract, amount, source: str = "test", **kw):
        with factory._session() as s:
            return record_payment(s, _id(contract), amount, source=source, **kw).payment
    return run


@dataclass(frozen=True)
class DeliveryRecord:
    """One event for one plugin, as the outbox holds it."""

    id: int
    plugin: str
    event_id: int
    event: str  # the notification's name: "block_set", "payment_received"…
    account_id: int | None
    contract_id: int | None
    state: str  # "pending", "done" or "dead"
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    payload: dict


@pytest.fixture
def deliveries(runtime, settle):
    """deliveries(plugin=None, state=None) → [DeliveryRecord] in delivery id order."""
    def read(plugin: str | None = None, state: str | None = None) -> list[DeliveryRecord]:
        settle()
        query = select(Delivery, OutboxEvent).join(OutboxEvent).order_by(Delivery.id)
        if plugin is not None:
            query = query.where(Delivery.plugin == plugin)
        if state is not None:
            query = query.where(Delivery.state == state)
        with runtime.session() as s:
            return [DeliveryRecord(d.id, d.plugin, e.id, e.name, d.account_id, e.contract_id,
                                   d.state, d.attempts, d.next_attempt_at, d.last_error,
                                   d.delivered_at, e.payload)
                    for d, e in s.execute(query)]
    return read


@pytest.fixture
def dead_letters(deliveries):
    """dead_letters(plugin=None) → the dead deliveries (`last_error` says why)."""
    return lambda plugin=None: deliveries(plugin, "dead")


class Clock:
    """The core's clock (core.clock) as a test moves it; back where it was after the test."""

    def __init__(self):
        self._frozen = ExitStack()

    @property
    def now(self) -> datetime:
        return now()

    def set(self, at: datetime) -> datetime:
        """Freeze the time at `at` (timezone-aware)."""
        self._frozen.enter_context(frozen(at))
        return now()

    def advance(self, delta: timedelta | None = None, **kw: float) -> datetime:
        """Move the time on by `delta` or timedelta(**kw): `clock.advance(minutes=5)`."""
        return self.set(now() + (delta if delta is not None else timedelta(**kw)))

    def close(self) -> None:
        self._frozen.close()


@pytest.fixture
def clock():
    moved = Clock()
    yield moved
    moved.close()


@pytest.fixture
def admin_client(runtime, settle) -> Callable[..., AdminClient]:
    """admin_client(role="administrator", login=None) → an AdminClient logged in as a new
    manager of that role (the built-in roles: administrator, manager, cashier, read-only),
    or as the existing manager `login` (password plugins.testing_admin.PASSWORD)."""
    def make(role: str = "administrator", login: str | None = None) -> AdminClient:
        settle()
        return logged_in(runtime, role, login)
    return make


class RecordingPlugin:
    """A plugin that records every notification: `plugin.events` is a list of `Event`
    in event order (sorted by `event.id`: the outbox delivers from several threads, so
    deliveries of different contracts arrive interleaved), `plugin.arrivals` the same
    events in the order the hooks were called (for tests of the delivery order itself).

    Set `plugin.fail` to an exception (or a callable taking the event and returning one or
    None) to make deliveries fail; `agent_types` declares agent types so the plugin hears
    only about its own accounts.
    """

    def __init__(self, agent_types: list[str] | None = None):
        self.events: list = []
        self.arrivals: list = []
        self.fail = None
        self._lock = threading.Lock()
        self._agent_types = [AgentType(code=c, title=c, account_fields=(Field("ext_id"),))
                             for c in agent_types or []]

    def abonent_agent_types(self):
        return self._agent_types

    def _record(self, event, ctx):
        failure = self.fail(event) if callable(self.fail) else self.fail
        if failure is not None:
            raise failure
        with self._lock:
            self.arrivals.append(event)
            bisect.insort(self.events, event, key=lambda e: e.id)

    def names(self) -> list[str]:
        return [e.name for e in self.events]


for _name in NOTIFICATIONS:
    setattr(RecordingPlugin, f"abonent_{_name}",
            lambda self, event, ctx: self._record(event, ctx))


@pytest.fixture
def recorder() -> RecordingPlugin:
    return RecordingPlugin()


@pytest.fixture
def fault_proxy():
    """`fault_proxy(upstream_url)` → a started FaultProxy, stopped after the test."""
    started: list[FaultProxy] = []

    def start(upstream: str, timeout: float = 30.0) -> FaultProxy:
        proxy = FaultProxy(upstream, timeout=timeout).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()
