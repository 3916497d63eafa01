"""Payments: the balance moves with them, a replay is one payment, bad input writes nothing,
and concurrent payers from several processes end with the exact balance."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import Duplicate, NotFound, ValidationError
from core.clock import frozen
from core.models import Contract, OutboxEvent, Payment
from core.services.payments import record_payment
from support import PROCS


@pytest.fixture
def abonent_plugins(listener):
    return [("listener", listener)]


def balance(runtime, contract_id) -> Decimal:
    with runtime.session() as s:
        return s.get(Contract, contract_id).balance


def test_payment_moves_balance_and_emits(runtime, factory, listener, drain):
    contract = factory.contract()
    with runtime.session() as s:
        result = record_payment(s, contract.number, "150.25", source="bank",
                                external_id="tx-1", comment="March")
    assert result.created
    assert balance(runtime, contract.id) == Decimal("150.25")
    drain()
    (event,) = listener.events
    assert event.name == "payment_received" and event.contract_id == contract.id
    assert event.payload["payment"]["balance_after"] == "150.25"
    assert event.payload["payment"]["amount"] == "150.25"


def test_replay_is_one_payment(runtime, factory, counts):
    contract = factory.contract()
    with runtime.session() as s:
        first = record_payment(s, contract.id, "100", source="bank", external_id="tx-9")
    before = counts()
    with runtime.session() as s:
        again = record_payment(s, contract.id, Decimal("100.00"), source="bank",
                               external_id="tx-9")
    assert not again.created and again.payment.id == first.payment.id
    assert counts() == before
    assert balance(runtime, contract.id) == Decimal("100.00")
    with pytest.raises(Duplicate) as error, runtime.session() as s:
        record_payment(s, contract.id, "99", source="bank", external_id="tx-9")
    assert error.value.field == "external_id"
    assert counts() == before


@pytest.mark.parametrize("amount, reason", [
    ("-5", "must not be negative"), ("0", "must not be zero"), ("abc", "not a decimal"),
    (10.5, "not a float"), ("1.005", "at most 2 decimal places"), ("NaN", "finite"),
    ("1e30", "less than"), (None, "required"), (True, "required"),
])
def test_bad_amounts(runtime, factory, counts, amount, reason):
    contract = factory.contract()
    before = counts()
    with pytest.raises(ValidationError) as error, runtime.session() as s:
        record_payment(s, contract.id, amount)
    assert error.value.field == "amount" and reason in error.value.reason
    assert counts() == before


@pytest.mark.parametrize("kwargs, field", [
    ({"contract": "NO-SUCH"}, "contract"),
    ({"contract": 424242}, "contract"),
    ({"source": "my bank"}, "source"),
    ({"received_at": "2026-01-01T10:00:00"}, "received_at"),
    ({"external_id": "x" * 101}, "external_id"),
])
def test_bad_payment_fields(runtime, factory, counts, kwargs, field):
    contract = factory.contract()
    before = counts()
    args = {"contract": contract.id, "amount": "10", **kwargs}
    with pytest.raises(ValidationError) as error, runtime.session() as s:
        record_payment(s, args.pop("contract"), args.pop("amount"), **args)
    assert error.value.field == field
    assert counts() == before
    if kwargs.get("contract") == 424242:
        assert isinstance(error.value, NotFound)


@pytest.mark.parametrize("received_at, allowed", [
    ("1900-01-01T10:00:00+00:00", "from 2025-12-06 to 2026-12-07"),
    ("2999-01-01T10:00:00+00:00", "from 2025-12-06 to 2026-12-07"),
    ("2026-12-08T00:30:00+00:00", "from 2025-12-06 to 2026-12-07"),  # tomorrow
])
def test_payments_far_from_today_are_refused(runtime, factory, counts, received_at, allowed):
    contract = factory.contract()
    before = counts()
    with frozen(datetime(2026, 12, 7, 23, tzinfo=timezone.utc)):
        with pytest.raises(ValidationError) as error, runtime.session() as s:
            record_payment(s, contract.id, "10", received_at=received_at)
        assert error.value.field == "received_at"
        assert error.value.reason == (f"{received_at[:10]} is outside the allowed dates "
                                      f"({allowed}; [billing] payment_days_back)")
        assert counts() == before
        with runtime.session() as s:  # a year back, and later today, are fine
            for at in ("2025-12-06T00:00:00+00:00", "2026-12-07T23:59:00+00:00"):
                record_payment(s, contract.id, "10", received_at=at)
    assert balance(runtime, contract.id) == Decimal("20.00")


@pytest.mark.postgresql_only
def test_concurrent_payers_end_with_exact_balance(runtime, factory, abonent_database):
    """Four processes pay 50 × 1.00 each into one contract, and replay each other's keys."""
    contract = factory.contract()
    procs = [subprocess.Popen([sys.executable, str(PROCS / "pay.py"), abonent_database.url,
                               str(contract.id), "50", f"p{i % 2}"]) for i in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    with runtime.session() as s:
        payments = s.scalar(select(func.count()).select_from(Payment))
        events = s.scalar(select(func.count()).select_from(OutboxEvent))
    assert payments == 100 and events == 100  # p0 and p1 keys, each recorded once
    assert balance(runtime, contract.id) == Decimal("100.00")
