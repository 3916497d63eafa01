"""Messages to TV screens: meldingerSend/meldingerDel/meldingerList.

SGT's rules kept here: a message goes to one customer or (nil) to every customer, one
message per customer, with a body; dates are `YYYY-MM-DD` or `YYYY-MM-DD HH:MM[:SS]`, each
period ending after it starts; the read-confirmation mode `msg_prio` is 0 (confirm with
the PIN), 1 (on click, in the TV panel) or 2 (when the teaser is shown).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .customers import customer
from .methods import (ARRAY, BAD_ARGUMENTS, ID, ID_OR_ALL, TEXT, method, nil_or, not_found,
                      refuse)
from .state import Message, Sms

WHEN = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?")
PRIORITIES = (0, 1, 2)


def _when(name: str, value: str) -> datetime:
    try:
        if not WHEN.fullmatch(value):
            raise ValueError
        return datetime.fromisoformat(value)
    except ValueError:
        raise refuse(f"{name}: niepoprawna data {value!r}", BAD_ARGUMENTS) from None


@method("meldingerSend", nil_or(ID), TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, ID, ID)
def meldinger_send(sms: Sms, cust_number: int | None, msg_body: str, teaser_from: str,
                   teaser_to: str, extended: str, valid_from: str, valid_to: str, prio: int,
                   show_priority: int) -> int:
    targets = ([customer(sms, cust_number).cust_number] if cust_number is not None
               else list(sms.customers))
    if not msg_body.strip():
        raise refuse("msg_body: treść wiadomości jest wymagana", BAD_ARGUMENTS)
    for start, end, label in ((teaser_from, teaser_to, "teaser"), (valid_from, valid_to, "msg")):
        if _when(f"{label}_valid_from", start) >= _when(f"{label}_valid_to", end):
            raise refuse(f"{label}_valid_to: koniec musi być po początku", BAD_ARGUMENTS)
    if prio not in PRIORITIES:
        raise refuse(f"msg_prio: niepoprawny sposób potwierdzenia {prio} (0, 1 lub 2)",
                     BAD_ARGUMENTS)
    fields = {"msg_body": msg_body, "teaser_valid_from": teaser_from,
              "teaser_valid_to": teaser_to, "msg_body_extended": extended,
              "msg_valid_from": valid_from, "msg_valid_to": valid_to, "msg_prio": prio,
              "msg_show_priority": show_priority, "msg_read": 0}
    for target in targets:
        new = Message(sms.next_id("msg"), target, dict(fields))
        sms.messages[new.msg_id] = new
    return len(targets)


@method("meldingerDel", nil_or(ARRAY), ID, optional=1)
def meldinger_del(sms: Sms, msg_ids: list | None, cust_number: int | None = None) -> int:
    if msg_ids is None:
        if cust_number is None:
            raise refuse("meldingerDel: podaj identyfikatory wiadomości lub numer klienta",
                         BAD_ARGUMENTS)
        customer(sms, cust_number)
        gone = [m for m in sms.messages.values() if m.cust_number == cust_number]
    else:
        gone = []
        for item in msg_ids:
            found = sms.messages.get(item) if isinstance(item, int) and not isinstance(item, bool) else None
            if found is None:
                raise not_found("Wiadomość", item)
            gone.append(found)
    for message in gone:
        sms.messages.pop(message.msg_id, None)
    return len(gone)


@method("meldingerList", ID_OR_ALL)
def meldinger_list(sms: Sms, cust_number: int | None) -> list[dict[str, Any]]:
    if cust_number is not None:
        customer(sms, cust_number)
    return [{"msg_id": m.msg_id, "cust_number": m.cust_number, **m.fields}
            for m in sms.messages.values() if cust_number in (None, m.cust_number)]
