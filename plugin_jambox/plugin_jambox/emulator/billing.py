"""Billing events and balances: `billingEventsGet` and `setCustomerPaymentInfo`.

SGT bills the operator for each customer's packages and reports every charge as a
billing event (`billingEventsGet(from, to, id)`): its id, the customer (SMS number and the
billing's external id), the TV account, the selling date, a description, the VAT as a
fraction, the gross price for the customer, the operator's B2B net price, the monthly
report it belongs to (`group_id`) and the package. The emulator keeps them in
`Sms.billing_events` (:class:`BillingEvent`, in the order they were made); `add_event`
adds one, `generate_events` makes many at once (the demo, the benchmark's 200,000).

SGT's rules kept here: dates are `YYYY-MM-DD` and `from` is not after `to`; `id` is ""
(every report) or a report id; `setCustomerPaymentInfo(date, {cust_number:
{"cust_total_balance": number}})` refuses the whole call when one customer is unknown or
a balance is not a number, and changes nothing then.

A month of events is a reply of hundreds of MB, so `billingEventsGet` answers as a
:class:`~plugin_jambox.emulator.methods.Streamed` reply: the events are chosen under the
state's lock, and their XML is written in chunks after it, as the client reads it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterator
from xml.sax.saxutils import escape

from .methods import ID_OR_ALL, STRUCT, TEXT, Streamed, day, method, not_found, refuse
from .state import Sms

VAT = Decimal("0.23")
#: the operator's B2B net price as a share of the customer's gross price
B2B_SHARE = Decimal("0.55")
CHUNK_EVENTS = 500
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class BillingEvent:
    id: int
    cust_number: int
    cust_external_id: str
    account_id: int
    selling_date: date
    desc: str
    vat: Decimal
    gross: Decimal
    b2b_net: Decimal
    group_id: int
    package_id: int

    def view(self) -> dict:
        """The event as `billingEventsGet` lists it (what a test compares with)."""
        return {"id": self.id, "cust_external_id": self.cust_external_id,
                "cust_number": self.cust_number, "account_id": self.account_id,
                "be_selling_date": self.selling_date.isoformat(), "be_desc": self.desc,
                "be_vat": self.vat, "be_gross": self.gross, "be_b2b_netto": self.b2b_net,
                "group_id": self.group_id, "package_id": self.package_id}

    def xml(self) -> str:
        return (f"<value><struct>"
                f"<member><name>id</name><value><int>{self.id}</int></value></member>"
                f"<member><name>cust_external_id</name><value><string>"
                f"{escape(self.cust_external_id)}</string></value></member>"
                f"<member><name>cust_number</name><value><int>{self.cust_number}</int></value>"
                f"</member><member><name>account_id</name><value><int>{self.account_id}"
                f"</int></value></member><member><name>be_selling_date</name><value><string>"
                f"{self.selling_date.isoformat()}</string></value></member>"
                f"<member><name>be_desc</name><value><string>{escape(self.desc)}</string>"
                f"</value></member><member><name>be_vat</name><value><double>{self.vat}"
                f"</double></value></member><member><name>be_gross</name><value><double>"
                f"{self.gross}</double></value></member><member><name>be_b2b_netto</name>"
                f"<value><double>{self.b2b_net}</double></value></member>"
                f"<member><name>group_id</name><value><int>{self.group_id}</int></value>"
                f"</member><member><name>package_id</name><value><int>{self.package_id}"
                f"</int></value></member></struct></value>\n")


def report_id(day_: date) -> int:
    """SGT's monthly report id of the month a day is in (one report a month)."""
    return 40000 + day_.year * 12 + day_.month


def _next_event_id(sms: Sms) -> int:
    return sms.billing_events[-1].id + 1 if sms.billing_events else 7_000_001


def add_event(sms: Sms, cust_number: int, account_id: int, selling_date: date,
              gross: str | Decimal, desc: str = "Pakiet Wielotematyczny 65",
              vat: str | Decimal = VAT, b2b_net: str | Decimal | None = None,
              package_id: int = 101, group_id: int | None = None,
              cust_external_id: str | None = None) -> BillingEvent:
    """Add one event (a test's exact case); the customer's external id is the SMS's."""
    with sms.lock:
        if cust_external_id is None:
            customer = sms.customers.get(cust_number)
            cust_external_id = customer.data.get("cust_external_id", "") if customer else ""
        gross = Decimal(str(gross))
        event = BillingEvent(
            _next_event_id(sms), cust_number, cust_external_id, account_id, selling_date, desc,
            Decimal(str(vat)), gross,
            Decimal(str(b2b_net)) if b2b_net is not None
            else (gross * B2B_SHARE).quantize(CENT, ROUND_HALF_UP),
            group_id if group_id is not None else report_id(selling_date), package_id)
        sms.billing_events.append(event)
        return event


def generate_events(sms: Sms, count: int, first: date, last: date,
                    customers: list[tuple[int, str, int]] | None = None) -> int:
    """Make `count` events spread evenly over the days `first`..`last`, round the
    `customers` given as (cust_number, cust_external_id, account_id) — by default every
    TV account of the SMS — and the basic and additional packages in turn. Fast enough
    for the benchmark's 200,000 (a second or two). Returns the count made."""
    if count < 0 or last < first:
        raise ValueError("count must be >= 0 and first <= last")
    packages = [p for p in sms.packages.values() if Decimal(p.gross) > 0]
    with sms.lock:
        if customers is None:
            customers = [(a.cust_number,
                          sms.customers[a.cust_number].data.get("cust_external_id", ""),
                          a.account_id) for a in sms.accounts.values()]
        if not customers:
            raise ValueError("no customers to bill: add some, or pass `customers`")
        days = (last - first).days + 1
        start = _next_event_id(sms)
        prices = [(p, Decimal(p.gross), (Decimal(p.gross) * B2B_SHARE).quantize(CENT))
                  for p in packages]
        made = []
        for i in range(count):
            selling = first + timedelta(days=i * days // count)
            cust_number, external, account_id = customers[i % len(customers)]
            package, gross, b2b = prices[i % len(prices)]
            made.append(BillingEvent(start + i, cust_number, external, account_id, selling,
                                     f"{package.pkg_name} {selling:%Y-%m}", VAT, gross, b2b,
                                     report_id(selling), package.package_id))
        sms.billing_events.extend(made)
    return count


def _chunks(events: list[BillingEvent]) -> Iterator[bytes]:
    yield b"<?xml version='1.0'?>\n<methodResponse><params><param><value><array><data>\n"
    for start in range(0, len(events), CHUNK_EVENTS):
        yield "".join(e.xml() for e in events[start:start + CHUNK_EVENTS]).encode("utf-8")
    yield b"</data></array></value></param></params></methodResponse>\n"


@method("billingEventsGet", TEXT, TEXT, ID_OR_ALL, optional=1)
def billing_events_get(sms: Sms, start: str, end: str, group_id: int | None = None) -> Streamed:
    first, last = day("start_date", start), day("end_date", end)
    if first > last:
        raise refuse(f"Data początkowa {start} jest późniejsza niż końcowa {end}")
    chosen = [e for e in sms.billing_events if first <= e.selling_date <= last
              and (group_id is None or e.group_id == group_id)]
    return Streamed(_chunks(chosen))


def _balance(cust_number: str, info: object) -> Decimal:
    if not isinstance(info, dict) or set(info) != {"cust_total_balance"}:
        raise refuse(f"setCustomerPaymentInfo: klient {cust_number}: oczekiwano "
                     f"{{cust_total_balance}}")
    value = info["cust_total_balance"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise refuse(f"setCustomerPaymentInfo: klient {cust_number}: cust_total_balance musi "
                     f"być liczbą")
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


@method("setCustomerPaymentInfo", TEXT, STRUCT)
def set_customer_payment_info(sms: Sms, upload_date: str, balances: dict) -> bool:
    when = day("upload_date", upload_date)
    checked: dict[int, Decimal] = {}
    for key, info in balances.items():
        if not key.isdigit() or int(key) not in sms.customers:
            raise not_found("Klient", key)
        checked[int(key)] = _balance(key, info)
    for cust_number, balance in checked.items():
        sms.payment_info[cust_number] = (when, balance)
    return True
