"""A forgotten cabinet password: a code sent to the subscriber, then a new password.

`request_code` makes a random 6-digit code for every account the typed login or phone
names (with a cabinet password: the operator opened its cabinet), keeps only its argon2
hash, voids the codes sent before and sends it through `core.notify` by the first of
`[cabinet] reset_channels` that reaches the subscriber (e-mail built in, a plugin's
SMS). The requester learns nothing of whether the login exists: the web page answers the
same, and the work done is alike (a hash is made either way). `reset` takes the login,
the code and the new password: a code works once, for `CODE_TTL`, and `MAX_TRIES`
wrong codes void it; a right one sets the password, which ends every cabinet session of
the account. Every step is in the audit log on the account, without the code. How
often codes may be asked for is the web page's throttle (admin.cabinet.reset).
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.audit import audit
from core.clock import now
from core.models import Account, CabinetReset
from core.notify import notify_subscriber
from core.runtime import runtime_of
from core.services import cabinet

CODE_TTL = timedelta(minutes=10)
MAX_TRIES = 5
SUBJECT = "Your code to reset the password"


def _body(logins: list[str], code: str) -> str:
    return (f"Your code to set a new password of your account ({', '.join(logins)}) is "
            f"{code}.\nIt works once, for {CODE_TTL.seconds // 60} minutes. If you did not "
            f"ask for it, ignore this message: your password stays as it is.\n")


def _code() -> str:
    return f"{secrets.randbelow(10 ** 6):06d}"


def _accounts(session: Session, login: str) -> list[Account]:
    """The live accounts with a cabinet password that the login or phone names."""
    ids = [row[0] for row in cabinet.named(session, login) if row[2]]
    return list(session.scalars(select(Account).where(Account.id.in_(ids))
                                .order_by(Account.contract_id, Account.id))) if ids else []


def request_code(session: Session, login: Any) -> int:
    """Send a new code to the subscriber of every account the login names; returns to
    how many accounts one was sent (not to be shown to the requester)."""
    login = str(login or "").strip()[:100]
    channels = runtime_of(session).settings.section("cabinet")["reset_channels"]
    named = _accounts(session, login) if login else []
    if not named:
        cabinet.hash_secret(_code())  # the work a known login costs: no tell-tale time
    sent = 0
    for contract_id, group in groupby(named, key=lambda account: account.contract_id):
        accounts = list(group)  # one code a contract: a phone shared by two subscribers
        code = _code()          # never gives one of them the other's code
        code_hash = cabinet.hash_secret(code)
        notice = notify_subscriber(session, contract_id, SUBJECT,
                                   _body([a.login for a in accounts], code), channels)
        for account in accounts:
            if notice is None:
                audit(session, "cabinet_reset_undelivered", "account", account.id,
                      {"channels": list(channels)})
                continue
            _void(session, account.id)
            session.add(CabinetReset(account_id=account.id, code_hash=code_hash,
                                     channel=notice.channel, expires_at=now() + CODE_TTL))
            audit(session, "cabinet_reset_sent", "account", account.id,
                  {"channel": notice.channel, "to": notice.to})
            sent += 1
    session.flush()
    return sent


def _void(session: Session, account_id: int) -> None:
    session.execute(update(CabinetReset).where(
        CabinetReset.account_id == account_id, CabinetReset.used_at.is_(None))
        .values(used_at=now()))


def reset(session: Session, login: Any, code: Any, password: Any) -> Account | None:
    """Set the new password of the account whose live code this is; None when the code
    is wrong, expired, used or tried too often (a wrong try is counted against the
    login's live codes). A password that could not be set is refused before the code is
    tried (ValidationError on "password"), whether the login names an account or not."""
    login = str(login or "").strip()[:100]
    code = str(code or "").strip()
    cabinet.check_password(login, password)  # alike for a login that names nothing
    accounts = {a.id: a for a in _accounts(session, login)} if login else {}
    live = list(session.scalars(select(CabinetReset).where(
        CabinetReset.account_id.in_(accounts), CabinetReset.used_at.is_(None),
        CabinetReset.expires_at > now(), CabinetReset.tries < MAX_TRIES)
        .order_by(CabinetReset.id))) if accounts else []
    for row in live:
        if code.isdecimal() and len(code) == 6 and cabinet.verified(row.code_hash, code):
            row.used_at = now()
            audit(session, "cabinet_password_reset", "account", row.account_id,
                  {"channel": row.channel})
            return cabinet.set_password(session, row.account_id, password)
    for row in live:
        row.tries += 1
        audit(session, "cabinet_reset_refused", "account", row.account_id, {"tries": row.tries})
    if not live:
        cabinet.verified(cabinet.dummy_hash(), code)
    return None
