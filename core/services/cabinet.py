"""What a subscriber does in the cabinet (/my/), through the same services as a manager.

The cabinet is a web page of the admin package; everything it changes goes through here,
in a transaction whose actor is the subscriber (`actor(account)`: "subscriber:<login>"),
so the audit log and the outbox see the same operations as a manager's, by another hand.

The operator's rules, beyond those every caller meets:

- Connecting an add-on (a service the tariff offers, not a base one) charges its current
  period at once, as a platform's in-app purchase does (`subscriptions.purchase`): if
  that charge would take the balance below −credit limit, nothing changes and the
  subscriber reads how much is needed and how much is there. Disconnecting refunds the
  unused days as a manager's removal does.
- A voluntary block: at most `[cabinet] blocks_per_month` started from the cabinet within
  30 days; a dated one lasts at least `block_min_days` days; an indefinite one may be
  lifted from the cabinet once it has lasted that long (one not started yet: any time).
- A tariff change only to a tariff marked self-service, from the first day of the next
  month (the next billing period), replacing a change planned before.
- A promised payment within the `[money]` rules (core.services.promises).
"""
from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import blocking
from core.audit import audit
from core.charging import day_start, month_bounds
from core.clock import now
from core.errors import NotFound, ValidationError
from core.models import (Account, Block, CabinetSession, Contract, Phone, Service, Subscription,
                         Tariff, TariffChange, TariffService)
from core.runtime import Runtime, runtime_of
from core.server_sessions import ServerSessions
from core.services import accounts, inputs, promises, subscriptions
from core.services.dates import local_today

MIN_PASSWORD = 8
#: how many accounts one login or phone may name (a phone shared by a family's accounts)
MAX_NAMED = 10
BLOCK_WINDOW = timedelta(days=30)

_hasher = PasswordHasher()


def actor(login: str) -> str:
    """Who acts in the audit log and the outbox when a subscriber acts in the cabinet."""
    return f"subscriber:{login}"


@functools.cache
def dummy_hash() -> str:
    """Checked when no account matches, so the answer time does not tell logins apart."""
    return _hasher.hash(secrets.token_hex(16))


# --- passwords and logging in ------------------------------------------------------------

def set_password(session: Session, account_id: Any, password: Any) -> Account:
    """Set (or reset) the account's cabinet password; its cabinet sessions end."""
    account = inputs.fetch(session, Account, account_id, "account_id")
    check_password(account.login, password)
    had = account.cabinet_password is not None
    account.cabinet_password = hash_secret(password)
    end_all(session, account.id)
    session.flush()
    audit(session, "set_cabinet_password", "account", account.id,
          {"cabinet_password": {"old": "set" if had else "not set", "new": "set"}})
    return account


def check_password(login: str, password: Any) -> None:
    """Refuse (on "password") a password too short or the same as the login."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError("password", f"must be at least {MIN_PASSWORD} characters long")
    if password.strip().lower() == login.strip().lower():
        raise ValidationError("password", "must not be the same as the login")


def hash_secret(secret: str) -> str:
    """The argon2 hash kept of a password or a reset code."""
    return _hasher.hash(secret)


def phone_numbers(login: str) -> set[str]:
    """The stored forms of a login typed as a phone (+7 916 123-45-67 and 8 916… are the
    same number), or none for a login that is not one."""
    if not re.fullmatch(r"[\d\s()+-]{10,20}", login):
        return set()
    digits = re.sub(r"\D", "", login)
    return {digits, "7" + digits[1:], "8" + digits[1:]} if len(digits) == 11 else {digits}


def named(session: Session, login: str) -> list[tuple[int, str, str | None]]:
    """(id, login, hash) of the live accounts the login names: by their own login, or
    by a phone of their contract's subscriber."""
    named = select(Account.id, Account.login, Account.cabinet_password).where(
        Account.trashed_at.is_(None))
    numbers = phone_numbers(login)
    condition = Account.login == login
    if numbers:
        condition = or_(condition, Account.id.in_(
            select(Account.id).join(Contract, Contract.id == Account.contract_id)
            .join(Phone, Phone.subscriber_id == Contract.subscriber_id)
            .where(Phone.number.in_(sorted(numbers)))))
    return list(session.execute(named.where(condition).order_by(Account.id).limit(MAX_NAMED)))


@dataclass(frozen=True)
class Attempt:
    """A login's verdict: the account it opens (None: refused) and its login; when
    refused, `named` is the one account the login names (None: none or several), for
    the audit log."""

    account_id: int | None
    login: str | None
    named: int | None = None


def authenticate(runtime: Runtime, login: Any, password: Any) -> Attempt:
    """Check a cabinet login (an account's login or its subscriber's phone) and password.
    The argon2 checks run outside any transaction. A phone shared by several accounts
    opens the first whose password matches."""
    login = str(login or "").strip()[:100]
    with runtime.session(actor="cabinet") as session:
        found = named(session, login) if login else []
    password = str(password or "")
    for account_id, account_login, stored in found:
        if stored and verified(stored, password):
            return Attempt(account_id, account_login)
    if not any(stored for _, _, stored in found):
        verified(dummy_hash(), password)
    return Attempt(None, None, found[0][0] if len(found) == 1 else None)


def verified(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


#: the cabinet's logins held on the server, as the admin's are (core.server_sessions):
#: let in while the account is live and still has a cabinet password
SESSIONS = ServerSessions(CabinetSession, Account, allowed=lambda account: (
    not account.trashed and account.cabinet_password is not None))
account_of = SESSIONS.owner_of
end = SESSIONS.end
end_all = SESSIONS.end_all


def open_session(session: Session, account_id: int) -> str:
    """A new cabinet session for the account (audited as its login); returns the token."""
    token = SESSIONS.open(session, account_id)
    audit(session, "cabinet_login", "account", account_id, {})
    return token


# --- what the subscriber sees -----------------------------------------------------------

def addons(session: Session, account: Account) -> list[Service]:
    """The add-on services the account's tariff offers (not its base ones)."""
    return list(session.scalars(
        select(Service).join(TariffService, TariffService.service_id == Service.id)
        .where(TariffService.tariff_id == account.tariff_id, TariffService.is_base.is_(False),
               Service.archived.is_(False)).order_by(Service.name)))


def live_subscriptions(session: Session, account: Account) -> list[Subscription]:
    return list(session.scalars(select(Subscription).where(
        Subscription.account_id == account.id, Subscription.state != "ended")
        .order_by(Subscription.is_base.desc(), Subscription.id)))


def self_service_tariffs(session: Session, account: Account) -> list[Tariff]:
    """The tariffs the subscriber may move to: self-service, not archived, not the
    current one, and holding no other platform's services than the account's agent's."""
    foreign = (select(TariffService.tariff_id)
               .join(Service, Service.id == TariffService.service_id)
               .where(Service.agent_type.is_not(None), Service.agent_type != account.agent.type))
    return list(session.scalars(select(Tariff).where(
        Tariff.self_service.is_(True), Tariff.archived.is_(False),
        Tariff.id != account.tariff_id, Tariff.id.not_in(foreign)).order_by(Tariff.name)))


def planned_change(session: Session, account: Account) -> TariffChange | None:
    return session.scalars(select(TariffChange).where(
        TariffChange.account_id == account.id, TariffChange.done_at.is_(None),
        TariffChange.cancelled_at.is_(None)).order_by(TariffChange.effective_on)).first()


def voluntary_blocks(session: Session, account: Account) -> list[Block]:
    """The account's voluntary blocks open now or still to start."""
    return list(session.scalars(select(Block).where(
        Block.account_id == account.id, Block.source == "voluntary", Block.lifted_at.is_(None),
        or_(Block.end_at.is_(None), Block.end_at > now())).order_by(Block.start_at)))


# --- what the subscriber does -----------------------------------------------------------

def _id(value: Any, field: str) -> int:
    return inputs.integer(value, field, low=1, high=inputs.MAX_KEY)


def _settings(session: Session) -> dict[str, Any]:
    return runtime_of(session).settings.section("cabinet")


def connect(session: Session, account: Account, service_id: Any) -> Subscription:
    """Connect an add-on the tariff offers, paying its current period now; refused with
    InsufficientFunds (the caller's transaction rolls back) when the money is short."""
    service_id = _id(service_id, "service_id")
    if service_id not in {service.id for service in addons(session, account)}:
        raise ValidationError("service_id", "is not an add-on of your tariff")
    return subscriptions.purchase(session, account.id, service_id)


def disconnect(session: Session, account: Account, subscription_id: Any) -> Subscription:
    """Disconnect an add-on (the base services go with the tariff, not one by one)."""
    subscription = session.get(Subscription, _id(subscription_id, "subscription_id"))
    if subscription is None or subscription.account_id != account.id:
        raise NotFound("subscription_id", "is not a service of your account")
    if subscription.is_base:
        raise ValidationError("subscription_id", "a base service of the tariff cannot be "
                                                 "disconnected alone")
    return subscriptions.remove(session, subscription.id)


def take_promise(session: Session, account: Account, amount: Any):
    """A promised payment on the account's contract, within the [money] rules."""
    return promises.give_promise(session, account.contract_id, amount,
                                 reason="taken in the cabinet")


def block(session: Session, account: Account, first: Any = None, last: Any = None) -> Block:
    """Switch a voluntary block on from day `first` (default today) until day `last`
    inclusive (None: until lifted), within the [cabinet] rules."""
    rules = _settings(session)
    today = local_today(account)
    first = inputs.day(first, "first", required=False) or today
    last = inputs.day(last, "last", required=False)
    if first < today:
        raise ValidationError("first", "must not be in the past")
    if last is not None and (last - first).days + 1 < rules["block_min_days"]:
        raise ValidationError("last", f"a block lasts at least {rules['block_min_days']} days")
    since = now() - BLOCK_WINDOW
    taken = session.scalar(select(func.count(Block.id)).where(
        Block.account_id == account.id, Block.source == "voluntary",
        Block.created_by.like("subscriber:%"), Block.start_at > since))
    if taken >= rules["blocks_per_month"]:
        raise ValidationError("first", f"at most {rules['blocks_per_month']} voluntary blocks "
                                       f"in 30 days can be taken here")
    zone = account.contract.operator.timezone
    start = None if first == today else day_start(first, zone)
    try:
        end = day_start(last + timedelta(days=1), zone) if last else None
    except OverflowError:
        raise ValidationError("last", "is too far in the future") from None
    return blocking.set_block(session, account.id, "voluntary", start_at=start, end_at=end,
                              reason="taken in the cabinet")


def unblock(session: Session, account: Account) -> Block:
    """Lift the account's voluntary block, once it has lasted [cabinet] block_min_days
    (one not started yet may be cancelled at once)."""
    current = voluntary_blocks(session, account)
    if not current:
        raise NotFound("block", "there is no voluntary block to lift")
    days = _settings(session)["block_min_days"]
    started = current[0].start_at
    if started <= now() and now() < started + timedelta(days=days):
        raise ValidationError("block", f"a voluntary block can be lifted here after {days} "
                                       f"days, from {started + timedelta(days=days):%Y-%m-%d}")
    return blocking.lift_block(session, account.id, "voluntary", reason="lifted in the cabinet")


def next_period(account: Account) -> date:
    """The first day of the next billing period (month) in the operator's zone."""
    return month_bounds(local_today(account))[1] + timedelta(days=1)


def change_tariff(session: Session, account: Account, tariff_id: Any) -> TariffChange:
    """Plan a move to a self-service tariff from the next period."""
    tariff_id = _id(tariff_id, "tariff_id")
    if tariff_id not in {tariff.id for tariff in self_service_tariffs(session, account)}:
        raise ValidationError("tariff_id", "is not a tariff you can choose here")
    return accounts.change_tariff(session, account.id, tariff_id, on=next_period(account))
