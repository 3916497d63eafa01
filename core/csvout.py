"""CSV files that a spreadsheet opens as data, never as formulas (CSV injection).

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is taken for a
formula by Excel and LibreOffice, so text from outside (a registry's contract number, a
plugin's line description, a reason quoting either) could run `=cmd|' /C calc'!A1` on
the accountant's computer. Every CSV Abonent writes goes through `writer`, which puts a
`'` before such a text cell, as OWASP advises. Numbers stay numbers: a Decimal or an
int is written as it is, and so is a text cell that is just a number ("-5.00"), so
money reads back as money.
"""
from __future__ import annotations

import csv
import re
from decimal import Decimal
from typing import Any, Iterable, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def cell(value: Any) -> Any:
    """`value` fit for a CSV cell: a text that a spreadsheet would run gets a leading '."""
    if value is None or isinstance(value, (int, Decimal)):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class writer:  # noqa: N801 - a drop-in for csv.writer
    """csv.writer(stream, **options) whose rows are neutralised cell by cell."""

    def __init__(self, stream: TextIO, **options: Any):
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
