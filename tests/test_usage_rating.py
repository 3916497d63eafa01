"""Usage rating: the seed's worked example (6 objects × 3 = 18), idempotency by key, every
rejection kept with its reason, pricing by a plugin's hook, and balance blocks."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import UsageDraft, ValidationError, hookimpl
from core.clock import frozen
from core.ledger import verify_balances
from core.models import Account, Block, Charge, Contract, SensorType, UsageRecord
from core.services.accounts import trash_account
from core.services.subscriptions import assign_service, deactivate
from core.usage import collect_usage, record_usage

DAY = date(2024, 5, 1)


@pytest.fixture(autouse=True)
def on_day():
    """Every test runs on DAY (noon UTC), so subscriptions start on it."""
    with frozen(datetime(2024, 5, 1, 12, tzinfo=timezone.utc)):
        yield


@dataclass
class Counter:
    """The seed's set-up: sensor type sensor_1 (id 1), a daily counter service at 3 per
    object (unit pcs, id 5) as the tariff's base service, an account with ext_id 777."""

    service: object
    tariff: object
    account: object

    @property
    def contract_id(self) -> int:
        return self.account.contract_id


def make_counter(runtime, factory, ext_id: str = "777", price: str = "3", **contract) -> Counter:
    with runtime.session() as s:
        if s.get(SensorType, 1) is None:
            s.add(SensorType(id=1, name="sensor_1"))
    service = factory.service(name=f"Wialon objects {price}", kind="counter", price="0",
                              method="daily", price_per_unit=Decimal(price), unit_id=5,
                              sensor_type_id=1)
    tariff = factory.tariff(base=[service])
    account = factory.account(contract=factory.contract(**contract) if contract else None,
                              tariff=tariff, fields={"ext_id": ext_id})
    return Counter(service, tariff, account)


@pytest.fixture
def counter(runtime, factory) -> Counter:
    return make_counter(runtime, factory)


def draft(key="k1", ext_id="777", value="6", sensor=1, unit=5, day=DAY, source="test"):
    return UsageDraft(key=key, source=source, ext_id=ext_id, sensor_type_id=sensor,
                      value=Decimal(value), day=day, unit_id=unit)


def record(runtime, *drafts):
    with runtime.session(actor="test") as s:
        return record_usage(s, list(drafts))


def stored(runtime, key) -> UsageRecord:
    with runtime.session() as s:
        return s.scalars(select(UsageRecord).where(UsageRecord.key == key)).one()


def balance(runtime, contract_id) -> Decimal:
    with runtime.session() as s:
        return s.get(Contract, contract_id).balance


def test_seed_example_charges_18(runtime, counter):
    summary = record(runtime, draft())
    assert (summary.received, summary.rated, summary.duplicates, summary.rejected) == (1, 1, 0, 0)
    assert summary.amount == Decimal("18.00")
    rec = stored(runtime, "k1")
    assert rec.state == "rated" and rec.reason is None
    assert rec.account_id == counter.account.id and rec.charge_id is not None
    with runtime.session() as s:
        charge = s.get(Charge, rec.charge_id)
        assert (charge.key, charge.kind, charge.amount, charge.quantity) == (
            "u:k1", "usage", Decimal("18.00"), Decimal("6.000000"))
        assert (charge.period_start, charge.period_end) == (DAY, DAY)
        assert charge.service_id == counter.service.id
        assert charge.subscription_id == rec.subscription_id
        assert charge.contract_id == counter.contract_id
        assert verify_balances(s) == []
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")


def test_same_key_is_a_duplicate_not_rated_twice(runtime, counter, counts):
    record(runtime, draft())
    before = counts()
    summary = record(runtime, draft(), draft(value="7"))
    assert (summary.rated, summary.duplicates) == (0, 2)
    assert counts()["charge"] == before["charge"]
    assert counts()["usage_record"] == before["usage_record"]
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")


def test_rounds_half_up_to_the_cent(runtime, factory):
    account = make_counter(runtime, factory, price="1").account
    record(runtime, draft("a", value="1.005"), draft("b", value="0.004"),
           draft("c", value="2.675"))
    with runtime.session() as s:
        amounts = dict(s.execute(select(Charge.key, Charge.amount)).all())
    assert amounts == {"u:a": Decimal("1.01"), "u:b": Decimal("0.00"), "u:c": Decimal("2.68")}
    assert balance(runtime, account.contract_id) == Decimal("-3.69")


def test_record_without_unit_matches_any_unit(runtime, counter):
    record(runtime, draft(unit=None))
    assert stored(runtime, "k1").state == "rated"


def rejected_reason(runtime, key) -> str:
    rec = stored(runtime, key)
    assert rec.state == "rejected" and rec.charge_id is None
    return rec.reason


def test_every_rejection_is_kept_with_its_reason(runtime, factory, counter, counts):
    make_counter(runtime, factory, ext_id="888")
    make_counter(runtime, factory, ext_id="888")
    with runtime.session() as s:
        s.add(SensorType(id=2, name="sensor_2"))
    summary = record(runtime, draft("unknown", ext_id="999"), draft("twice", ext_id="888"),
                     draft("sensor", sensor=2), draft("no-sensor", sensor=42),
                     draft("unit", unit=7), draft("negative", value="-1"),
                     draft("before", day=date(2024, 4, 30)), draft("good"))
    assert (summary.rated, summary.rejected) == (1, 7)
    assert dict(summary.rejections) == {
        "unknown": "unknown ext_id 999",
        "twice": "ext_id 888 matches 2 accounts",
        "sensor": "no active counter service for sensor type 2 in unit 5 on 2024-05-01",
        "no-sensor": "unknown sensor type 42",
        "unit": "no active counter service for sensor type 1 in unit 7 on 2024-05-01",
        "negative": "negative value",
        "before": "no active counter service for sensor type 1 in unit 5 on 2024-04-30",
    }
    for key, reason in summary.rejections:
        assert rejected_reason(runtime, key) == reason
    assert stored(runtime, "sensor").account_id == counter.account.id
    assert counts()["charge"] == 1
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")


def test_inactive_subscription_and_trashed_account(runtime, factory, counter):
    with runtime.session() as s:
        subscription = s.get(Account, counter.account.id).subscriptions[0]
        deactivate(s, subscription.id)
    record(runtime, draft("inactive"))
    assert rejected_reason(runtime, "inactive").startswith("no active counter service")
    with runtime.session() as s:
        trash_account(s, counter.account.id)
    record(runtime, draft("trashed"))
    assert rejected_reason(runtime, "trashed") == "unknown ext_id 777"


def test_second_counter_service_on_the_account_is_matched_by_sensor(runtime, factory, counter):
    with runtime.session() as s:
        s.add(SensorType(id=2, name="sensor_2"))
    other = factory.service(name="GPS trackers", kind="counter", price="0", method="daily",
                            price_per_unit=Decimal("2.5"), sensor_type_id=2)
    extra = factory.tariff(base=[counter.service], extra=[other])
    with runtime.session() as s:
        s.get(Account, counter.account.id).tariff_id = extra.id
    with runtime.session() as s:
        assign_service(s, counter.account.id, other.id)
    record(runtime, draft("objects"), draft("trackers", sensor=2, unit=None, value="4"))
    with runtime.session() as s:
        amounts = dict(s.execute(select(Charge.key, Charge.amount)).all())
    assert amounts == {"u:objects": Decimal("18.00"), "u:trackers": Decimal("10.00")}


def test_blocked_account_is_still_rated(runtime, counter):
    from core.blocking import set_block
    with runtime.session() as s:
        set_block(s, counter.account.id, "admin", reason="fraud check")
    record(runtime, draft())
    assert stored(runtime, "k1").state == "rated"


def test_going_below_the_limit_sets_a_balance_block(runtime, factory):
    account = make_counter(runtime, factory, credit_limit="10").account
    summary = record(runtime, draft())
    assert summary.blocked == 1
    with runtime.session() as s:
        (block,) = s.scalars(select(Block).where(Block.account_id == account.id)).all()
        assert block.source == "balance" and block.lifted_at is None


@pytest.mark.parametrize("change, field", [
    ({"key": ""}, "drafts[1].key"), ({"key": "k" * 119}, "drafts[1].key"),
    ({"ext_id": None}, "drafts[1].ext_id"), ({"sensor_type_id": "one"},
                                               "drafts[1].sensor_type_id"),
    ({"value": 1.5}, "drafts[1].value"), ({"value": Decimal("1e12")}, "drafts[1].value"),
    ({"value": Decimal("0.0000001")}, "drafts[1].value"), ({"day": "May 1"}, "drafts[1].day"),
    ({"unit_id": "pcs"}, "drafts[1].unit_id"), ({"unit_id": 2**31}, "drafts[1].unit_id"),
    ({"ext_id": "77\x007"}, "drafts[1].ext_id"), ({"sensor_type_id": -1},
                                                  "drafts[1].sensor_type_id"),
])
def test_malformed_draft_writes_nothing(runtime, counter, counts, change, field):
    bad = UsageDraft(**{**draft("k2").__dict__, **change})
    before = counts()
    with pytest.raises(ValidationError) as error:
        record(runtime, draft(), bad)
    assert error.value.field == field
    assert counts() == before


class Pricing:
    """A plugin that prices sensor type 1 at a flat 100 above 5 objects, refuses more
    than 50 objects, and leaves the rest to the core."""

    @hookimpl
    def abonent_rate_usage(self, session, record, service, account):
        assert account.ext_id == record.ext_id and service.kind == "counter"
        if record.value > 50:
            raise ValidationError("value", "more than 50 objects: ask the manager")
        if record.value > 5:
            return Decimal("100")
        return None


class UsageSource:
    """A plugin that measured 6 objects for ext_id 777 on any day asked."""

    @hookimpl
    def abonent_collect_usage(self, session, day):
        return [draft(key=f"collected:{day}", day=day)]


@pytest.mark.parametrize("abonent_plugins", [[("pricing", Pricing())]])
def test_rate_usage_hook_prices_and_rejects(runtime, counter, abonent_plugins):
    summary = record(runtime, draft("flat", value="6"), draft("core", value="2"),
                     draft("refused", value="51"), draft("unknown", ext_id="1"))
    assert (summary.rated, summary.rejected) == (2, 2)
    assert dict(summary.rejections) == {"refused": "more than 50 objects: ask the manager",
                                        "unknown": "unknown ext_id 1"}
    assert rejected_reason(runtime, "refused") == "more than 50 objects: ask the manager"
    with runtime.session() as s:
        amounts = dict(s.execute(select(Charge.key, Charge.amount)).all())
        assert verify_balances(s) == []
    assert amounts == {"u:flat": Decimal("100.00"), "u:core": Decimal("6.00")}
    assert stored(runtime, "flat").charge_id is not None
    assert balance(runtime, counter.contract_id) == Decimal("-106.00")
    assert record(runtime, draft("flat")).duplicates == 1


class Careless:
    @hookimpl
    def abonent_rate_usage(self, session, record, service, account):
        return 1.5


@pytest.mark.parametrize("abonent_plugins", [[("careless", Careless())]])
def test_hook_returning_a_float_rejects_the_record_saying_why(runtime, counter, abonent_plugins):
    record(runtime, draft())
    assert "returned 1.5, not a Decimal" in rejected_reason(runtime, "k1")


@pytest.mark.parametrize("abonent_plugins", [[("source", UsageSource())]])
def test_collect_usage_records_what_plugins_return(runtime, counter, abonent_plugins):
    with runtime.session() as s:
        summary = collect_usage(s, DAY)
    assert (summary.rated, summary.amount) == (1, Decimal("18.00"))
    with runtime.session() as s:
        assert collect_usage(s, DAY).duplicates == 1
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")


def test_many_records_in_chunks(runtime, factory, monkeypatch):
    import core.usage
    monkeypatch.setattr(core.usage, "CHUNK", 7)
    accounts = [make_counter(runtime, factory, ext_id=str(n)).account for n in range(3)]
    drafts = [draft(f"r{i}", ext_id=str(i % 4), value=str(i)) for i in range(30)]
    summary = record(runtime, *drafts)
    assert (summary.received, summary.rated, summary.rejected) == (30, 23, 7)
    with runtime.session() as s:
        assert verify_balances(s) == []
    expected = sum(3 * i for i in range(30) if i % 4 == 0)
    assert balance(runtime, accounts[0].contract_id) == Decimal(-expected).quantize(Decimal("0.01"))
