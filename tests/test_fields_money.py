"""Declared fields and money parsing: the small pieces every input goes through."""
from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import Field, ValidationError
from core.fields import clean_fields, mask_secrets
from core.money import money, round_money


@pytest.mark.parametrize("field, raw, expected", [
    (Field("n", "int"), "42", 42),
    (Field("b", "bool"), "yes", True),
    (Field("u", "url"), "http://api.example/v2/", "http://api.example/v2"),
    (Field("t", "time"), "3:30", time(3, 30)),
    (Field("l", "list"), "a, b,,c", ["a", "b", "c"]),
    (Field("d", "decimal"), 0.5, Decimal("0.500000")),
    (Field("s", default="x"), None, "x"),
])
def test_field_conversions(field, raw, expected):
    assert field.clean(raw) == expected


@pytest.mark.parametrize("field, raw, reason", [
    (Field("n", "int"), "4.2", "whole number"),
    (Field("n", "int", min=1), 0, "at least 1"),
    (Field("u", "url"), "ftp://x", "http(s) URL"),
    (Field("t", "time"), "25:00", "HH:MM"),
    (Field("s", required=True), "", "is required"),
    (Field("c", choices=("a", "b")), "z", "one of a, b"),
    (Field("p", pattern=r"7\d{10}"), "8900", "expected form"),
    (Field("b", "bool"), "maybe", "true or false"),
])
def test_field_refusals_name_the_field(field, raw, reason):
    with pytest.raises(ValidationError) as error:
        field.clean(raw, prefix="settings.")
    assert error.value.field == f"settings.{field.name}" and reason in error.value.reason


def test_unknown_keys_and_masking():
    fields = [Field("url", "url"), Field("token", secret=True)]
    with pytest.raises(ValidationError, match="settings.tokn: unknown field; known: token, url"):
        clean_fields(fields, {"tokn": "x"}, prefix="settings.")
    assert mask_secrets(fields, {"url": "http://a", "token": "s3"})["token"] == "••••••"


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999.99"), places=2))
def test_money_round_trips_any_amount_in_range(value):
    assert money(str(value)) == value


@given(st.text(max_size=20))
def test_money_refuses_or_parses_but_never_crashes(text):
    try:
        value = money(text)
    except ValidationError as error:
        assert error.field == "amount"
    else:
        assert isinstance(value, Decimal) and value >= 0


def test_rounding_is_half_up():
    assert round_money(Decimal("0.005")) == Decimal("0.01")
    assert round_money(Decimal("2.675")) == Decimal("2.68")
