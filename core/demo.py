"""The demo data set `abonent demo load` puts in: an operator, tariffs and services, a few
hundred subscribers with contracts, accounts and payments, opened on the first day of
last month, and every billing day since then run at its own time (the clock is set for
each), so the demo has a history: monthly fees, daily charges, balance blocks set and
lifted by later payments. Deterministic (seeded), and loaded once: a second load finds
the operator and does nothing."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import helpdesk
from core.billing_day import run_day
from core.clock import frozen, today
from core.models import (Account, Agent, NumberPlan, Operator, SensorType, Service, Tariff,
                         TariffService, Unit)
from core.runtime import runtime_of
from core.services import cabinet
from core.services.accounts import create_account
from core.services.customers import create_contract, create_subscriber
from core.services.payments import record_payment

FIRST = ["Ivan", "Pyotr", "Anna", "Maria", "Olga", "Sergey", "Dmitry", "Elena", "Nikolay",
         "Tatiana", "Alexey", "Irina", "Pavel", "Svetlana", "Andrey", "Natalia"]
LAST = ["Ivanov", "Petrov", "Sidorov", "Smirnov", "Kuznetsov", "Popov", "Volkov", "Sokolov",
        "Lebedev", "Kozlov", "Novikov", "Morozov", "Orlov", "Fedorov", "Mikhailov", "Egorov"]
#: the demo subscribers who can log in to the cabinet, and their password
CABINET_LOGINS = ("u00001", "u00002", "u00003")
CABINET_PASSWORD = "demo-cabinet"
STREETS = ["Lenina", "Gagarina", "Mira", "Sovetskaya", "Pushkina", "Sadovaya", "Lesnaya"]


def _catalog(session: Session) -> dict[str, Tariff]:
    if session.get(Unit, 1) is None:
        session.add(Unit(id=1, name="MB"))
    session.add(SensorType(name="sensor_1"))
    internet = Agent(type="generic", name="Internet (NAS 1)")
    session.add(internet)

    def service(name, kind, price, method=None, **kw) -> Service:
        item = Service(name=name, kind=kind, price=Decimal(price), method=method, **kw)
        session.add(item)
        return item

    fast = service("Internet 100 Mbit/s", "periodic", "500.00", "monthly",
                   activate_string="rate=100M", deactivate_string="rate=0")
    faster = service("Internet 300 Mbit/s", "periodic", "800.00", "monthly",
                     activate_string="rate=300M", deactivate_string="rate=0")
    daily = service("Internet by the day", "periodic", "20.00", "daily",
                    activate_string="rate=50M", deactivate_string="rate=0")
    static_ip = service("Static IP address", "periodic", "150.00", "monthly")
    router = service("Router rent", "periodic", "3.00", "daily")
    install = service("Installation", "one_time", "1000.00")
    tariffs = {}
    for name, base, extra, charge_on_balance in (
            ("Home 100", fast, [static_ip, router, install], False),
            ("Home 300", faster, [static_ip, router, install], False),
            ("Daily 50", daily, [router], False)):
        tariff = Tariff(name=name, charge_when_balance=charge_on_balance,
                        self_service=name != "Daily 50")
        tariff.items = [TariffService(service=base, is_base=True)] + [
            TariffService(service=s) for s in extra]
        session.add(tariff)
        tariffs[name] = tariff
    session.flush()
    return tariffs


def _at(day: date, hour: int, timezone: str) -> datetime:
    return datetime.combine(day, time(hour), ZoneInfo(timezone))


def load(session: Session, *, subscribers: int = 300, timezone: str = "UTC",
         progress: Callable[[int], None] | None = None) -> bool:
    """Load the demo into an empty database; False (nothing done) if an operator exists.

    `progress` is called with 1 per subscriber and per billing day replayed."""
    if session.scalar(select(Operator.id).limit(1)) is not None:
        return False
    now_day = today(timezone)
    opened = opening_day(now_day)
    rng = random.Random(2026)
    with frozen(_at(opened, 9, timezone)):
        contracts = NumberPlan(name="Contracts", pattern="D-{seq:05d}")
        invoices = NumberPlan(name="Invoices", pattern="INV-{year}-{seq:06d}", reset="yearly")
        session.add_all([contracts, invoices])
        session.flush()
        session.add(Operator(name="Demo ISP", currency="RUB", vat_rate=Decimal("20"),
                             timezone=timezone, contract_plan_id=contracts.id,
                             invoice_plan_id=invoices.id, grace_days=0))
        tariffs = _catalog(session)
        agent = session.scalars(select(Agent).where(Agent.type == "generic")).one()
        names = list(tariffs)
        payers = []
        for i in range(1, subscribers + 1):
            company = i % 25 == 0
            name = (f"OOO Demo Trade {i}" if company
                    else f"{rng.choice(FIRST)} {rng.choice(LAST)}")
            subscriber = create_subscriber(
                session, name=name, kind="company" if company else "person",
                phones=[f"79{rng.randrange(10**8, 10**9):09d}"],
                email=f"user{i}@example.net",
                addresses=[f"Demo-city, {rng.choice(STREETS)} st. {rng.randrange(1, 120)}, "
                           f"apt {rng.randrange(1, 300)}"])
            contract = create_contract(session, subscriber.id,
                                       credit_limit=Decimal(rng.choice([0, 0, 0, 100, 300])))
            create_account(session, contract.id, login=f"u{i:05d}", agent_id=agent.id,
                           tariff_id=tariffs[names[i % len(names)]].id, start_on=opened)
            if rng.random() < 0.85:
                record_payment(session, contract.id, Decimal(rng.choice([300, 500, 800, 1000])),
                               source="demo-bank", external_id=f"demo-{i}-1")
                payers.append(contract.id)
            if progress:
                progress(1)
    _replay(session, opened, now_day, payers, rng, timezone, progress)
    runtime_of(session).hook.abonent_demo_data(session=session, runtime=runtime_of(session))
    _cabinet_passwords(session)
    _helpdesk_requests(session)
    return True


def _helpdesk_requests(session: Session) -> None:
    """A HelpDesk queue that is not empty: two subscribers' requests and a prospect's
    connection request, as a manager finds them on a Monday morning."""
    first, second = session.scalars(select(Account.id).where(
        Account.login.in_(CABINET_LOGINS[:2])).order_by(Account.login))
    helpdesk.open_ticket(session, first, "internet", "Slow in the evenings",
                         "Since Friday the speed drops to 5 Mbit/s after 20:00.")
    helpdesk.open_ticket(session, second, "payments", "Payment not on the balance",
                         "I paid 500 at a terminal yesterday and the balance did not change.")
    helpdesk.open_connection_request(session, name="Olga Demidova", phone="+7 916 555-01-02",
                                     address="Demo-city, Lenina st. 7, apt 12",
                                     text="Internet and TV, please", source_address="demo")


def _cabinet_passwords(session: Session) -> None:
    """The cabinet (/my/) opens for the first three subscribers and every plugin's demo
    account with CABINET_PASSWORD (a few: each is an argon2 hash)."""
    for account_id in session.scalars(select(Account.id).join(Agent).where(or_(
            Account.login.in_(CABINET_LOGINS), Agent.type != "generic")).order_by(Account.id)):
        cabinet.set_password(session, account_id, CABINET_PASSWORD)


def _replay(session: Session, first: date, last: date, payers: list[int], rng: random.Random,
            timezone: str, progress: Callable[[int], None] | None) -> None:
    """Run every billing day from `first` to `last` at 00:05 of that day; on the 5th of
    each month some subscribers pay again (lifting their balance blocks)."""
    day = first
    while day <= last:
        with frozen(_at(day, 0, timezone) + timedelta(minutes=5)):
            run_day(session, day)
        if day.day == 5:
            with frozen(_at(day, 11, timezone)):
                for contract_id in payers:
                    if rng.random() < 0.7:
                        record_payment(session, contract_id,
                                       Decimal(rng.choice([500, 800, 1000, 1500])),
                                       source="demo-bank",
                                       external_id=f"demo-{contract_id}-{day.isoformat()}")
        session.flush()
        session.expunge_all()  # a day's objects are not needed again: keep the session small
        if progress:
            progress(1)
        day += timedelta(days=1)


def opening_day(now_day: date) -> date:
    """The demo opens its accounts on the first day of last month."""
    return (now_day.replace(day=1) - timedelta(days=1)).replace(day=1)


def steps(subscribers: int, timezone: str) -> int:
    """How many times `load` reports progress: each subscriber and each day replayed."""
    now_day = today(timezone)
    return subscribers + (now_day - opening_day(now_day)).days + 1
