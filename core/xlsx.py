"""A report (core.reports.Report) as an XLSX workbook an accountant opens as data.

Numbers stay numbers (an int as an int, money as a number shown with two decimals), days
are dates, the first row is the header (bold, frozen). A text cell is stored as text even
when it begins with "=": openpyxl would otherwise write it as a formula, and a contract
number or a name from outside could run in the accountant's spreadsheet (the XLSX side
of core.csvout's CSV injection guard); it also carries Excel's quote prefix, so editing
the cell keeps it text. The workbook is written in openpyxl's write-only mode, row by row.
"""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"


def _cell(sheet, value: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, Decimal):
        cell.number_format = MONEY_FORMAT
    elif isinstance(value, date) and not isinstance(value, datetime):
        cell.number_format = DATE_FORMAT
    elif isinstance(value, str):
        cell.data_type = "s"
        cell.quotePrefix = value.startswith(("=", "+", "-", "@"))
    return cell


def render_xlsx(report) -> bytes:
    """The workbook's bytes: one sheet named after the report."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(report.name[:31])
    sheet.freeze_panes = "A2"
    header = []
    for title in report.header:
        cell = _cell(sheet, title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in report.rows:
        sheet.append([_cell(sheet, value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
