"""The CDR line parser, property-based: random bytes never crash it, every valid line
round-trips, every class of malformed line is refused with its reason; and the day a
file name carries."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.cdr import (MAX_LINE, CdrLine, day_in_name, format_line, parse_line, parse_line_fully,
                      read_lines)

ext_ids = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"),
                  blacklist_characters=";"),
    min_size=1, max_size=100).filter(lambda s: s == s.strip() and s.isprintable())
ids = st.integers(min_value=0, max_value=2**31 - 1)
values = st.decimals(min_value=0, max_value=Decimal("999999999999.999999"), places=6,
                     allow_nan=False, allow_infinity=False)
lines = st.builds(CdrLine, ext_ids, ids, ids, values)
endings = st.sampled_from([b"", b"\n", b"\r\n"])


@given(st.binary(max_size=300))
@example(b"\xff\xfe;1;1;1")
@example(b";;;")
@example(b"\n")
def test_random_bytes_never_crash_it(raw):
    result = parse_line(raw)
    assert result is None or isinstance(result, (CdrLine, str))


@given(lines, endings)
@example(CdrLine("777", 5, 1, Decimal(6)), b"\n")
def test_valid_lines_round_trip(line, ending):
    raw = format_line(line).rstrip(b"\n") + ending
    parsed = parse_line(raw)
    assert parsed == line
    assert parse_line(format_line(parsed)) == line


@given(st.one_of(st.binary(max_size=60), st.builds(lambda line, end: format_line(line)[:-1] + end,
                                                  lines, endings)))
@example(b"777;5;1;6\r")
@example(b"007;05;1;000000000000006.5")
def test_the_plain_line_shortcut_agrees_with_the_full_parser(raw):
    assert parse_line(raw) == parse_line_fully(raw)


def test_the_seed_line():
    assert parse_line(b"777;5;1;6\r\n") == CdrLine("777", 5, 1, Decimal(6))
    assert parse_line(b" 777 ; 5 ; 1 ; 6.50 ") == CdrLine("777", 5, 1, Decimal("6.5"))


@pytest.mark.parametrize("raw", [b"", b"\n", b"\r\n", b"   \t \r\n"])
def test_empty_lines_are_ignored(raw):
    assert parse_line(raw) is None


def refused(raw: bytes) -> str:
    reason = parse_line(raw)
    assert isinstance(reason, str), reason
    assert "\n" not in reason
    return reason


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=";\r\n"),
                         max_size=8), min_size=1, max_size=20)
       .filter(lambda fields: len(fields) != 4 and "".join(fields).strip()))
def test_wrong_field_count(fields):
    reason = refused(";".join(fields).encode())
    assert reason == f"expected 4 fields ext_id;unit_id;sensor_type_id;value, got {len(fields)}"


@given(ext_ids, st.sampled_from(["unit_id", "sensor_type_id", "value"]),
       st.text(st.characters(whitelist_categories=("L", "P", "S"), blacklist_characters=";"),
               min_size=1, max_size=10).filter(lambda s: s.strip() and not s.strip().isdecimal()))
def test_non_numeric_fields(ext_id, where, junk):
    fields = {"unit_id": "5", "sensor_type_id": "1", "value": "6"}
    fields[where] = junk
    raw = f"{ext_id};{fields['unit_id']};{fields['sensor_type_id']};{fields['value']}".encode()
    reason = refused(raw)
    assert reason.startswith(where)
    assert "is not a whole number" in reason or "is not a number" in reason


@given(ext_ids, values.filter(lambda v: v > 0))
def test_negative_values(ext_id, value):
    assert refused(f"{ext_id};5;1;-{value}".encode()).endswith("is negative")


@given(st.integers(min_value=10**12, max_value=10**30), st.integers(0, 999))
def test_values_beyond_numeric_18_6(whole, decimals):
    assert "is too large" in refused(f"777;5;1;{whole}.{decimals}".encode())


@given(st.integers(min_value=7, max_value=20))
def test_more_than_six_decimal_places(places):
    assert refused(f"777;5;1;1.{'1' * places}".encode()).endswith("more than 6 decimal places")


@given(st.integers(min_value=2**31, max_value=10**20))
def test_ids_beyond_integer(number):
    assert refused(f"777;{number};1;6".encode()) == f"unit_id {number} is too large"
    assert refused(f"777;5;{number};6".encode()) == f"sensor_type_id {number} is too large"


@given(st.binary(min_size=1, max_size=40).filter(lambda b: _not_utf8(b)))
def test_bad_encoding(junk):
    assert refused(b"777" + junk + b";5;1;6").startswith("not valid UTF-8")


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@pytest.mark.parametrize("raw, reason", [
    (b";5;1;6", "ext_id is empty"),
    (b"7 7;5;1;6", "ext_id '7 7' contains a space or a control character"),
    (b"7\x007;5;1;6", "ext_id '7\\x007' contains a space or a control character"),
    (b"x" * 101 + b";5;1;6", "ext_id is longer than 100 characters"),
    (b"777;5;1;1e3", "value '1e3' is not a number (digits, optionally a point and decimals)"),
    (b"777;5;1;6,5", "value '6,5' is not a number (digits, optionally a point and decimals)"),
    (b"777;5;1;", "value '' is not a number (digits, optionally a point and decimals)"),
    (b"777;-5;1;6", "unit_id '-5' is not a whole number"),
    (b"777;5;1;" + b"1" * MAX_LINE, f"line is longer than {MAX_LINE} bytes"),
])
def test_named_reasons(raw, reason):
    assert refused(raw) == reason


def test_long_lines_are_cut_when_read():
    stream = io.BytesIO(b"777;5;1;6\n" + b"9" * (5 * MAX_LINE) + b"\n777;5;1;7")
    read = list(read_lines(stream))
    assert [len(raw) for raw in read] == [10, MAX_LINE + 2, 9]
    assert [parse_line(raw) for raw in read] == [
        CdrLine("777", 5, 1, Decimal(6)), f"line is longer than {MAX_LINE} bytes",
        CdrLine("777", 5, 1, Decimal(7))]


@pytest.mark.parametrize("name, day", [
    ("wialon_2024-05-01.cdr", date(2024, 5, 1)),
    ("20240502.txt", date(2024, 5, 2)),
    ("cdr-20241399-2024-02-03", date(2024, 2, 3)),
    ("unit_1700000000.cdr", None),
    ("objects.cdr", None),
])
def test_day_in_name(name, day):
    assert day_in_name(name) == day


@given(st.dates(min_value=date(1000, 1, 1)), st.text(st.characters(blacklist_categories=("Nd",)),
                                                      max_size=10))
def test_any_date_in_a_name_is_found(day, prefix):
    assert day_in_name(f"{prefix}{day.isoformat()}.cdr") == day
    assert day_in_name(f"{prefix}{day:%Y%m%d}.cdr") == day
