"""The core's own defaults, registered through the same hooks as any plugin ("core"):
the generic agent type, phone look-up, and the scheduled billing jobs."""
from __future__ import annotations

from sqlalchemy import select

from core.agents import AgentType
from core.billing_day import run_day
from core.clock import today
from core.contributions import JobSpec
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


def billing_day(ctx) -> dict:
    """The daily run for today (the operator's day)."""
    with ctx.runtime.session(actor="scheduler") as session:
        return run_day(session, today(ctx.runtime.settings.timezone)).as_dict()


def abonent_jobs(runtime):
    config = runtime.settings.section("scheduler")
    at = config["billing_time"]
    return [JobSpec("core.billing_day", billing_day, {"hour": at.hour, "minute": at.minute},
                    "Daily billing: tariff changes, expiries, dated blocks, charges, "
                    "balance blocks")]
