"""The core's own defaults, registered through the same hooks as any plugin ("core")."""
from __future__ import annotations

from sqlalchemy import select

from core.agents import AgentType
from core.fields import Field
from core.hookspecs import hookimpl
from core.models import Account, Contract, Phone, Subscriber

GENERIC = AgentType(
    code="generic",
    title="Generic (no integration)",
    account_fields=(Field("ext_id", help="external id that usage records (CDR) carry"),),
)


def abonent_agent_types():
    return [GENERIC]


@hookimpl(trylast=True)
def abonent_find_subscriber(session, phone):
    """By a phone on the subscriber's card, else by an account login equal to the phone."""
    by_card = session.scalars(
        select(Subscriber).join(Phone).where(Phone.number == phone).order_by(Subscriber.id)
    ).first()
    if by_card is not None:
        return by_card
    return session.scalars(
        select(Subscriber).join(Contract).join(Account)
        .where(Account.login == phone, Account.trashed_at.is_(None)).order_by(Subscriber.id)
    ).first()
