"""A pytest plugin for plugin authors (and for Abonent's own tests), loaded automatically
through the `pytest11` entry point once `abonent` is installed.

Every test that uses a database fixture runs once per backend given by `--db`
(default: both sqlite and postgresql). PostgreSQL comes from `ABONENT_TEST_POSTGRES_URL`
(`make test` starts a throwaway cluster and sets it); when it is requested and missing,
the test fails with that message: PostgreSQL is never skipped silently.

Fixtures:
- `abonent_plugins`: override it to return [(name, plugin object or module), …] to load.
- `abonent_config`: override it to return configuration sections ({"outbox": {…}}).
- `runtime`: a `Runtime` on a migrated database, emptied after each test.
- `session`: a transaction on it, committed at the end of the test.
- `factory`: builds operators, tariffs, agents, subscribers, contracts, accounts.
- `drain`: `drain()` delivers the outbox until nothing is due; returns the count.
- `RecordingPlugin(name)`: a plugin object that records every notification it receives.
- `fault_proxy`: `fault_proxy(upstream_url)` starts a `FaultProxy` (plugins.faults) in front
  of a platform, stopped after the test: error statuses, hangs, applied calls whose answer
  is lost, garbled bodies.
- `BillingDays` (plugins.billing_days): run several consecutive billing days and assert the
  money of each.
"""
from __future__ import annotations

import itertools
import os
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from core import migrate
from core.agents import AgentType
from core.config import validate_settings
from core.db import make_engine
from core.fields import Field
from core.hookspecs import NOTIFICATIONS
from core.models import Agent, NumberPlan, Operator, Service, Tariff, TariffService
from core.services.accounts import create_account
from core.services.customers import create_contract, create_subscriber
from plugins.billing_days import BillingDays, DayMoney  # noqa: F401  (for plugin authors)
from plugins.faults import FaultProxy

BACKENDS = ("sqlite", "postgresql")
PG_ENV = "ABONENT_TEST_POSTGRES_URL"
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


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.fail(f"PostgreSQL tests need {PG_ENV} (run `make test`, which starts a "
                    f"throwaway cluster, or pass --db sqlite)", pytrace=False)
    return url


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
        self.url = url
        self.engine = make_engine(url)
        migrate.upgrade(self.engine)
        self.metadata = MetaData()
        self.metadata.reflect(self.engine)
        with self.engine.connect() as connection:
            self.seeds = {table: [dict(r._mapping) for r in connection.execute(select(table))]
                          for table in self.metadata.sorted_tables if table.name != "alembic_version"}
        self.seeds = {table: rows for table, rows in self.seeds.items() if rows}

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
    from plugins.host import build_runtime
    abonent_database.reset()
    yield build_runtime(abonent_settings, extra_plugins=abonent_plugins,
                        load_entrypoints=False, engine=abonent_database.engine)


@pytest.fixture
def session(runtime):
    with runtime.session(actor="test") as s:
        yield s


@pytest.fixture
def drain(runtime):
    from plugins.outbox import Outbox
    outbox = Outbox(runtime, "test-worker")
    return outbox.drain


class Factory:
    """Builds valid objects in their own committed transactions; returns them detached
    (their columns loaded), so a test can pass their ids to the code under test."""

    def __init__(self, runtime):
        self.runtime = runtime

    def operator(self, **kw) -> Operator:
        with self.runtime.session(actor="test") as s:
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
        with self.runtime.session(actor="test") as s:
            service = Service(name=name or f"service {next(_counter)}", kind=kind,
                              price=Decimal(price), method=None if kind == "one_time" else method,
                              **kw)
            s.add(service)
        return service

    def tariff(self, name: str | None = None, base: list[Service] | None = None,
               extra: list[Service] | None = None, **kw) -> Tariff:
        """A tariff; without `base`, one monthly base service of 300.00 is made for it."""
        base = [self.service()] if base is None else base
        with self.runtime.session(actor="test") as s:
            tariff = Tariff(name=name or f"tariff {next(_counter)}", **kw)
            tariff.items = ([TariffService(service_id=x.id, is_base=True) for x in base]
                            + [TariffService(service_id=x.id) for x in extra or []])
            s.add(tariff)
        return tariff

    def agent(self, type: str = "generic", name: str | None = None, **settings) -> Agent:
        with self.runtime.session(actor="test") as s:
            agent = Agent(type=type, name=name or f"agent {next(_counter)}", settings=settings)
            s.add(agent)
        return agent

    def subscriber(self, **kw):
        self.operator()
        with self.runtime.session(actor="test") as s:
            return create_subscriber(s, **{"name": f"Subscriber {next(_counter)}", **kw})

    def contract(self, subscriber=None, **kw):
        subscriber = subscriber or self.subscriber()
        with self.runtime.session(actor="test") as s:
            return create_contract(s, subscriber.id, **kw)

    def account(self, contract=None, tariff=None, agent=None, login: str | None = None,
                **kw):
        contract = contract or self.contract()
        tariff = tariff or self.tariff()
        agent = agent or self.agent()
        with self.runtime.session(actor="test") as s:
            return create_account(s, contract.id, login=login or f"login{next(_counter)}",
                                  agent_id=agent.id, tariff_id=tariff.id, **kw)


@pytest.fixture
def factory(runtime) -> Factory:
    return Factory(runtime)


class RecordingPlugin:
    """A plugin that records every notification: `plugin.events` is a list of `Event`.

    Set `plugin.fail` to an exception (or a callable taking the event and returning one or
    None) to make deliveries fail; `agent_types` declares agent types so the plugin hears
    only about its own accounts.
    """

    def __init__(self, agent_types: list[str] | None = None):
        self.events: list = []
        self.fail = None
        self._agent_types = [AgentType(code=c, title=c, account_fields=(Field("ext_id"),))
                             for c in agent_types or []]

    def abonent_agent_types(self):
        return self._agent_types

    def _record(self, event, ctx):
        failure = self.fail(event) if callable(self.fail) else self.fail
        if failure is not None:
            raise failure
        self.events.append(event)

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
