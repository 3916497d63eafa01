"""Migration in: subscribers, contracts, accounts and opening balances from a CSV export
(1C's, or another billing's), line by line, with a dry run and a report per line.

The file has a header row naming its columns, in English or as 1C writes them in
Russian (`COLUMNS`: name, phone, e-mail, address, tax id, contract number, account login,
tariff, agent, opening balance, external id); only name and contract are required. The
delimiter is ";" when the header holds one, else ","; the text is UTF-8 (a BOM allowed)
or, when it is not, Windows-1251 (what 1C writes). Several phones share a cell, separated
by "," (or ";" in a ","-file). An amount may use a decimal comma and spaces
("-1 234,50"). A tax id of 10 digits (a Russian company's INN) makes the card a company.

Each line is one transaction: its subscriber, contract, account (when a login is given,
with the tariff and agent named), opening balance and import link are written together
or not at all, so a bad line leaves nothing half-written and never stops the others. A
line's identity is (source, external id) — the external id column, or the contract
number when the file has none — kept as a link of the contract (core.links, plugin
"import"), so importing the same file again creates nothing and reports each line
"already imported". The opening balance is one payment-side row of kind "imported"
(positive or negative) with source "opening", written once; a debt sets balance blocks
as the billing day would. A dry run does every line's work and rolls it back.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import blocking, csvout
from core.audit import audit
from core.errors import NotFound, ValidationError
from core.links import find_link, set_link
from core.models import Agent, Tariff
from core.models.ledger import OPENING_KIND
from core.money import money
from core.runtime import Runtime
from core.services import inputs
from core.services.accounts import create_account
from core.services.corrections import post
from core.services.customers import create_contract, create_subscriber
from core.services.payments import SOURCE

LINK = ("import", "contract")  # (plugin, kind) of the links that make a re-import harmless
#: the largest file taken (a migration is done in parts beyond this)
MAX_BYTES = 32 * 1024 * 1024
#: column -> the header titles taken for it (compared case-insensitively, "ё" as "е")
COLUMNS = {
    "external_id": ("external_id", "external id", "id", "code", "код", "внешний код"),
    "name": ("name", "subscriber", "full name", "наименование", "фио", "абонент",
             "контрагент"),
    "phone": ("phone", "phones", "телефон", "телефоны"),
    "email": ("email", "e-mail", "mail", "эл. почта", "электронная почта", "почта"),
    "address": ("address", "адрес"),
    "tax_id": ("tax_id", "tax id", "инн"),
    "contract": ("contract", "contract number", "contract_number", "договор", "номер договора"),
    "login": ("login", "account", "логин", "учетная запись"),
    "tariff": ("tariff", "тариф"),
    "agent": ("agent", "агент"),
    "balance": ("balance", "opening balance", "opening_balance", "баланс", "сальдо",
                "остаток"),
}
REQUIRED = ("name", "contract")
#: a service's field -> the column the person wrote it in
_FIELD_COLUMNS = {"phones": "phone", "addresses": "address", "number": "contract",
                  "tariff_id": "tariff", "agent_id": "agent", "amount": "balance"}


@dataclass(frozen=True)
class LineReport:
    """What became of one line: "created", "already imported", "rejected" or "header"."""

    line: int
    outcome: str
    contract: str | None = None
    field: str | None = None
    reason: str | None = None


@dataclass
class SubscriberImport:
    name: str
    source: str
    dry_run: bool
    actor: str
    encoding: str = "utf-8"
    delimiter: str = ","
    lines: list[LineReport] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    def summary(self) -> str:
        verb = "would be created" if self.dry_run else "created"
        text = (f"{self.name}: {verb} {self.count('created')}, already imported "
                f"{self.count('already imported')}, rejected {self.count('rejected')}")
        return text + (" (dry run: nothing was written)" if self.dry_run else "")

    def write_csv(self, stream: TextIO) -> None:
        writer = csvout.writer(stream)
        writer.writerow(["line", "outcome", "contract", "field", "reason"])
        for line in self.lines:
            writer.writerow([line.line, line.outcome, line.contract or "", line.field or "",
                             line.reason or ""])


def import_subscribers(runtime: Runtime, data: bytes, *, name: str = "<upload>",
                       source: str = "import", dry_run: bool = False,
                       actor: str | None = None) -> SubscriberImport:
    """Import a CSV export given as bytes (see the module's docstring); `actor` (who is
    written in the audit log) is `import:<source>` unless given."""
    source = inputs.text(source, "source", max_len=40, pattern=SOURCE,
                         what="letters, digits and _ . : - only")
    if len(data) > MAX_BYTES:
        raise ValidationError("file", f"is larger than {MAX_BYTES // 2**20} MB: import it "
                                      f"in parts")
    report = SubscriberImport(name, source, dry_run, actor or f"import:{source}")
    text = _decode(data, report)
    rows = csv.reader(text.splitlines(), delimiter=report.delimiter)
    header = next(rows, None)
    if header is None:
        raise ValidationError("file", "is empty: the first line names the columns")
    columns = _columns(header)
    report.lines.append(LineReport(1, "header", reason=", ".join(
        column or "(ignored)" for column in columns)))
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, 2):
        if not any(cell.strip() for cell in row):
            continue
        report.lines.append(_line(runtime, report, number, columns, row, seen))
    return report


def _decode(data: bytes, report: SubscriberImport) -> str:
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        text, report.encoding = data.decode("cp1251", errors="replace"), "cp1251"
    if "\x00" in text:
        raise ValidationError("file", "contains NUL bytes: it is not a CSV text file")
    first = text.split("\n", 1)[0]
    report.delimiter = ";" if ";" in first else ","
    return text


def _title(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower().replace("ё", "е"))


def _columns(header: list[str]) -> list[str | None]:
    """The column of each header cell (None: a column this import does not read)."""
    titles = {_title(title): column for column, names in COLUMNS.items() for title in names}
    columns = [titles.get(_title(cell)) for cell in header]
    missing = [column for column in REQUIRED if column not in columns]
    if missing:
        raise ValidationError("header", f"has no {' and no '.join(missing)} column (the "
                                        f"first line names the columns: {', '.join(COLUMNS)})")
    twice = sorted({column for column in columns if column and columns.count(column) > 1})
    if twice:
        raise ValidationError("header", f"names the {twice[0]} column more than once")
    return columns


def _line(runtime: Runtime, report: SubscriberImport, number: int,
          columns: list[str | None], row: list[str], seen: dict[str, int]) -> LineReport:
    values = {column: cell.strip() for column, cell in zip(columns, row) if column}
    contract = values.get("contract") or None
    if any(cell.strip() for cell in row[len(columns):]):  # empty ones: a spreadsheet's ";"
        return LineReport(number, "rejected", contract, "line",
                          f"has {len(row)} fields, the header {len(columns)}")
    key = values.get("external_id") or contract
    try:
        for column, value in values.items():
            if not value.isprintable():
                raise ValidationError(column, "contains a control character")
        inputs.text(key, "external_id" if values.get("external_id") else "contract",
                    max_len=50)
        for what, seen_key in (("contract", f"no:{contract}"), ("external_id", f"id:{key}")):
            if seen_key in seen:
                raise ValidationError(what, f"{seen_key[3:]} is also on line {seen[seen_key]}")
        seen.update({f"id:{key}": number, f"no:{contract}": number})
        with runtime.session(actor=report.actor, commit=not report.dry_run) as s:
            done = find_link(s, *LINK, f"{report.source}:{key}")
            if done is not None:
                return LineReport(number, "already imported", contract, reason=(
                    f"contract id {done.local_id}, line {done.data.get('line')} of "
                    f"{done.data.get('file')}"))
            _create(s, report, number, values, key)
    except ValidationError as exc:
        column = _FIELD_COLUMNS.get(exc.field.split(".")[0], exc.field.split(".")[0])
        return LineReport(number, "rejected", contract, column, exc.reason)
    except IntegrityError:  # the same line imported by a concurrent import
        return LineReport(number, "rejected", contract, "contract",
                          "was created meanwhile by another import")
    return LineReport(number, "created", contract)


def _create(session, report: SubscriberImport, number: int, values: dict[str, str],
            key: str) -> None:
    tax_id = values.get("tax_id") or None
    phones = [p for p in re.split(r"[,;]", values.get("phone", "")) if p.strip()]
    subscriber = create_subscriber(
        session, name=values.get("name"), phones=phones, email=values.get("email") or None,
        addresses=[values["address"]] if values.get("address") else [], tax_id=tax_id,
        kind="company" if tax_id and re.fullmatch(r"[0-9]{10}", tax_id) else "person")
    contract = create_contract(session, subscriber.id, number=values.get("contract"))
    account_id = _account(session, contract.id, values)
    balance = _balance(values.get("balance"))
    if balance:
        post(session, contract, OPENING_KIND, balance, source="opening",
             external_id=f"{report.source}:{key}",
             comment=f"Opening balance ({report.name}, line {number})")
        if balance < 0:
            blocking.check_balances(session, [contract.id])
    set_link(session, *LINK, contract.id, f"{report.source}:{key}",
             {"file": report.name[:200], "line": number, "subscriber_id": subscriber.id,
              "account_id": account_id})
    audit(session, "import", "contract", contract.id,
          {"source": report.source, "external_id": key, "file": report.name[:200],
           "line": number, "subscriber_id": subscriber.id, "account_id": account_id,
           "opening_balance": balance})


def _account(session, contract_id: int, values: dict[str, str]) -> int | None:
    """The line's account, when it names a login (then its tariff and agent too)."""
    login = values.get("login")
    if not login:
        for column in ("tariff", "agent"):
            if values.get(column):
                raise ValidationError("login", f"is required with a {column}")
        return None
    tariff = _by_name(session, Tariff, values.get("tariff"), "tariff")
    agent = _by_name(session, Agent, values.get("agent"), "agent")
    return create_account(session, contract_id, login=login, agent_id=agent.id,
                          tariff_id=tariff.id).id


def _by_name(session, model, name: Any, column: str):
    name = inputs.text(name, column, max_len=200)
    found = session.scalars(select(model).where(model.name == name)).first()
    if found is None:
        raise NotFound(column, f"no {column} named {name!r}")
    return found


def _balance(text: str | None) -> Decimal:
    if not text:
        return Decimal("0.00")
    cleaned = re.sub(r"[\s\u00a0]", "", text)
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    return money(cleaned, "balance", allow_negative=True)
