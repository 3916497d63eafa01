"""The core's checks of raw input: numbers within bounds, repeated fields limited, CSV
cells a spreadsheet never runs; and the service functions given whatever hypothesis
makes up answer with a ValidationError naming a field, or take it — nothing else."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import ValidationError, create_contract, create_subscriber, csv_writer
from core.csvout import cell
from core.services import inputs
from core.services.customers import update_contract

HUGE = "99999999999999999999"


@pytest.mark.parametrize("value, kw, reason", [
    (HUGE, {}, "must be from 0 to 2147483647"),
    (2**31, {}, "must be from 0 to 2147483647"),
    (-1, {}, "must be from 0 to"),
    ("9" * 5000, {}, "must be from 0 to"),
    ("12a", {}, "must be a whole number"),
    (366, {"high": 365}, "must be from 0 to 365"),
])
def test_integers_have_bounds(value, kw, reason):
    with pytest.raises(ValidationError) as refused:
        inputs.integer(value, "n", **kw)
    assert refused.value.field == "n" and reason in refused.value.reason


def test_repeated_fields_have_a_limit():
    assert inputs.items("one", "phones") == ["one"]
    assert inputs.items(None, "phones") == []
    with pytest.raises(ValidationError, match="at most 3 are allowed, not 4"):
        inputs.items(["1", "2", "3", "4"], "phones", most=3)
    with pytest.raises(ValidationError, match="must be a list"):
        inputs.items(42, "phones")


@pytest.mark.parametrize("value, written", [
    ("=cmd|' /C calc'!A1", "'=cmd|' /C calc'!A1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("+7 900", "'+7 900"), ("-x", "'-x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("-5.00", "-5.00"), ("+5", "+5"), (Decimal("-5.00"), Decimal("-5.00")), (-3, -3),
    ("plain", "plain"), (None, None),
])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_quote(value, written):
    assert cell(value) == written


def test_csv_writer_neutralises_every_cell_and_reads_back():
    out = io.StringIO()
    csv_writer(out).writerows([["=1+2", Decimal("-5.00"), "-5.00"], ["ok", 1, "@x"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["'=1+2", "-5.00", "-5.00"], ["ok", "1", "'@x"]]


def test_subscriber_and_contract_limits(runtime, factory, counts):
    factory.operator()
    contract = factory.contract()
    before = counts()
    with runtime.session() as s:
        with pytest.raises(ValidationError) as refused:
            create_subscriber(s, name="X", phones=[f"7900{i:07d}" for i in range(20_000)])
        assert refused.value.field == "phones"
        with pytest.raises(ValidationError) as refused:
            update_contract(s, contract.id, grace_days=HUGE)
        assert (refused.value.field, refused.value.reason) == ("grace_days",
                                                               "must be from 0 to 365")
    assert counts() == before


VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=50),
                   st.sampled_from([HUGE, "-1", "1e309", "NaN", "=1+2", "x" * 2000]),
                   st.lists(st.text(max_size=20), max_size=30))


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(name=VALUES, kind=VALUES, phones=VALUES, email=VALUES, addresses=VALUES,
       credit_limit=VALUES, grace_days=VALUES, grace_amount=VALUES, do_not_block=VALUES)
def test_customer_services_refuse_with_a_field_or_take_it(
        runtime, factory, counts, name, kind, phones, email, addresses, credit_limit,
        grace_days, grace_amount, do_not_block):
    factory.operator()
    before = counts()
    try:
        with runtime.session() as s:
            subscriber = create_subscriber(s, name=name, kind=kind, phones=phones, email=email,
                                           addresses=addresses)
            create_contract(s, subscriber.id, number=f"F-{subscriber.id}",
                            credit_limit=credit_limit, grace_days=grace_days,
                            grace_amount=grace_amount, do_not_block=do_not_block)
    except ValidationError as refused:
        assert refused.field and refused.reason
        assert counts() == before
