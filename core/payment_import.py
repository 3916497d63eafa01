"""Payments registry import: a bank's or a payment agent's CSV file, line by line.

A line is `date, contract number, amount, external id`:
- the delimiter is ";" when the first line holds one, else ","; with ";" an amount may
  use a decimal comma (`100,50`), as Russian bank registries write it;
- dates are YYYY-MM-DD or DD.MM.YYYY; the payment is dated at the start of that day in
  the operator's time zone; a date after today is refused;
- a header row is recognised (its first line has neither a date nor an amount) and
  reported as such, never silently dropped;
- the file is UTF-8 (a BOM is allowed); a line that does not decode is refused, saying so.

Each line is recorded in its own transaction through core.services.payments, so a bad
line never stops the good ones, and the outcome of each is reported: taken (the new
payment), duplicate (the same source and external id was recorded before: importing a
file twice takes nothing the second time), or rejected with the reason (unknown
contract, bad amount or date, missing external id, the same id with another amount…).
Payments lift balance blocks as any payment does.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, TextIO

from core import csvout
from core.cdr import read_lines
from core.charging import day_start
from core.clock import today
from core.errors import ValidationError
from core.runtime import Runtime
from core.services import inputs
from core.services.customers import find_contract
from core.services.payments import SOURCE, record_payment

FIELDS = ("date", "contract", "amount", "external_id")
MAX_LINE = 1000
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DOTTED_DATE = re.compile(r"([0-9]{2})\.([0-9]{2})\.([0-9]{4})")
_NUMBER = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")


@dataclass(frozen=True)
class LineOutcome:
    """What became of one line: "taken", "duplicate", "rejected" or "header"."""

    line: int
    outcome: str
    reason: str | None = None
    payment_id: int | None = None
    contract: str | None = None
    amount: Decimal | None = None
    external_id: str | None = None


@dataclass
class ImportReport:
    source: str
    name: str
    delimiter: str | None = None
    lines: list[LineOutcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    @property
    def taken(self) -> int:
        return self.count("taken")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def amount(self) -> Decimal:
        """The total of the payments this import took."""
        return sum((line.amount for line in self.lines if line.outcome == "taken"),
                   Decimal("0.00"))

    def summary(self) -> str:
        return (f"{self.name}: taken {self.taken} ({self.amount}), duplicates "
                f"{self.duplicates}, rejected {self.rejected}")

    def write_csv(self, stream: TextIO) -> None:
        """The per-line report as CSV (line, outcome, payment id, contract, amount,
        external id, reason)."""
        writer = csvout.writer(stream)
        writer.writerow(["line", "outcome", "payment_id", "contract", "amount",
                         "external_id", "reason"])
        for line in self.lines:
            writer.writerow([line.line, line.outcome, line.payment_id or "", line.contract or "",
                             "" if line.amount is None else line.amount,
                             line.external_id or "", line.reason or ""])


def import_payments(runtime: Runtime, path_or_stream: str | os.PathLike | BinaryIO,
                    source: str) -> ImportReport:
    """Import a registry file (a path, or a stream opened in binary mode) as payments of
    `source` (the bank or agent: external ids are unique per source)."""
    source = inputs.text(source, "source", max_len=50, pattern=SOURCE,
                         what="letters, digits and _ . : - only")
    if isinstance(path_or_stream, (str, os.PathLike)):
        path = Path(path_or_stream)
        try:
            if not path.is_file():
                raise ValidationError("file", f"{path} is not a file")
            stream = open(path, "rb")
        except OSError as exc:  # not readable by this user, a name too long…
            raise ValidationError("file", f"{str(path)[:80]} cannot be read: "
                                          f"{exc.strerror or exc}") from None
        with stream:
            return _import(runtime, stream, source, path.name)
    return _import(runtime, path_or_stream, source,
                   getattr(path_or_stream, "name", None) or "<stream>")


def _import(runtime: Runtime, stream: BinaryIO, source: str, name: str) -> ImportReport:
    if isinstance(stream.read(0), str):
        raise ValidationError("file", "open the registry in binary mode ('rb')")
    report = ImportReport(source, str(name))
    first = True
    for number, raw in enumerate(read_lines(stream, MAX_LINE), 1):
        try:
            text = _decode(raw, bom=number == 1)
            if report.delimiter is None and text.strip():
                report.delimiter = ";" if ";" in text else ","
            fields = _fields(text, report.delimiter)
        except ValidationError as exc:
            report.lines.append(LineOutcome(number, "rejected", exc.reason))
            continue
        if not any(fields):  # a blank line, or a spreadsheet's empty row ";;;"
            continue
        if first:
            first = False
            if _is_header(fields):
                report.lines.append(LineOutcome(number, "header", f"header row: {text.strip()}"))
                continue
        report.lines.append(_record(runtime, number, fields, source, report.delimiter))
    return report


def _decode(raw: bytes, bom: bool) -> str:
    line = raw.rstrip(b"\r\n")
    if bom:
        line = line.removeprefix(b"\xef\xbb\xbf")
    if len(line) > MAX_LINE:
        raise ValidationError("line", f"line is longer than {MAX_LINE} bytes")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("line", f"not valid UTF-8 (byte {line[exc.start]:#04x} at "
                                      f"position {exc.start}): save the registry as UTF-8"
                              ) from None


def _fields(text: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return []
    if "\r" in text:
        raise ValidationError("line", "contains a carriage return (CR) inside the line: "
                                      "lines end with LF or CR LF")
    try:
        parsed = next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error as exc:  # a NUL byte, say: the line is no CSV, the others may be
        raise ValidationError("line", f"is not a CSV line ({exc})") from None
    fields = [value.strip() for value in parsed]
    for place, value in enumerate(fields, 1):
        if not value.isprintable():
            raise ValidationError("line", f"field {place} contains a control character")
    return fields


def _is_header(fields: list[str]) -> bool:
    return not any(_day(value) or _NUMBER.fullmatch(value) for value in fields)


def _day(value: str) -> date | None:
    """A date written YYYY-MM-DD or DD.MM.YYYY, or None."""
    if match := _ISO_DATE.fullmatch(value):
        year, month, day = match.groups()
    elif match := _DOTTED_DATE.fullmatch(value):
        day, month, year = match.groups()
    else:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _record(runtime: Runtime, number: int, fields: list[str], source: str,
            delimiter: str) -> LineOutcome:
    if len(fields) != len(FIELDS):
        return LineOutcome(number, "rejected", f"expected {len(FIELDS)} fields: date, contract "
                                               f"number, amount, external id; got {len(fields)}")
    when, contract_number, amount, external_id = fields
    seen = {"contract": contract_number or None, "external_id": external_id or None}
    if delimiter == ";" and "," in amount and "." not in amount:
        amount = amount.replace(",", ".")
    try:
        day = _day(when)
        if day is None:
            raise ValidationError("date", f"{when[:40]!r} is not a date "
                                          f"(YYYY-MM-DD or DD.MM.YYYY)")
        if not external_id:
            raise ValidationError("external_id", "is required (it makes a re-import harmless)")
        with runtime.session(actor=f"import:{source}") as session:
            contract = find_contract(session, contract_number, "contract")
            zone = contract.operator.timezone
            if day > today(zone):
                raise ValidationError("date", f"{day} is in the future")
            result = record_payment(session, contract.id, amount, source=source,
                                    external_id=external_id,
                                    received_at=day_start(day, zone))
            payment = result.payment
            return LineOutcome(number, "taken" if result.created else "duplicate",
                               payment_id=payment.id, contract=contract.number,
                               amount=payment.amount, external_id=payment.external_id)
    except ValidationError as exc:
        return LineOutcome(number, "rejected", str(exc), **seen)
