"""Who is counted on a day: one set-based query over an agent's accounts.

Carbon Billing's script takes every ext_id whose tariff holds a daily counter service.
Here the same question is asked of what the rating will match, so nothing counted is
refused later for want of a service: an account of the agent, not in the trash, with an
active subscription (in its dates on the day) to a counter service charged daily, in
pcs (the unit a CDR line of this plugin names), with a sensor type. One row per
(account, sensor type): a tariff may price the same objects under two sensor types.

Each row also says whether the day is already done for it (a usage record of this
source holds it: the spool took a line of an earlier run) and how many live accounts
share its ext_id (the rating refuses an ext_id that matches more than one).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from core import Account, Service, Subscription, UsageRecord

#: Carbon Billing's unit id of "pcs", seeded by the core's first migration.
PCS = 5
#: Usage records that hold a day's count; a rejected one charged nothing and is redone.
HOLDING_STATES = ("rated", "pending")


@dataclass(frozen=True)
class Target:
    """One (account, sensor type) to count for the day."""

    account_id: int
    ext_id: str | None
    sensor_type_id: int
    sharing: int
    done: bool


def targets(session: Session, agent_id: int, source: str, day: date) -> list[Target]:
    """The day's targets of `agent_id`, by account id then sensor type id."""
    live = and_(Subscription.account_id == Account.id, Subscription.state == "active",
                Subscription.start_on <= day,
                or_(Subscription.end_on.is_(None), Subscription.end_on >= day))
    other = aliased(Account, name="other")
    sharing = (select(func.count()).select_from(other)
               .where(other.ext_id == Account.ext_id, other.trashed_at.is_(None))
               .correlate(Account).scalar_subquery())
    done = exists().where(UsageRecord.account_id == Account.id, UsageRecord.day == day,
                          UsageRecord.source == source,
                          UsageRecord.sensor_type_id == Service.sensor_type_id,
                          UsageRecord.state.in_(HOLDING_STATES))
    query = (select(Account.id, Account.ext_id, Service.sensor_type_id, sharing, done)
             .join(Subscription, live)
             .join(Service, Service.id == Subscription.service_id)
             .where(Account.agent_id == agent_id, Account.trashed_at.is_(None),
                    Service.kind == "counter", Service.method == "daily",
                    Service.unit_id == PCS, Service.sensor_type_id.is_not(None))
             .distinct()
             .order_by(Account.id, Service.sensor_type_id))
    return [Target(account_id, ext_id, sensor, sharing, bool(is_done))
            for account_id, ext_id, sensor, sharing, is_done in session.execute(query)]
