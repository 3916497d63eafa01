"""The core's own defaults, registered through the same hooks as any plugin ("core"):
the generic agent type, phone look-up, the check / pay payment-gateway protocol, and the
scheduled billing jobs (the daily run, the CDR spools' intake, the monthly invoices);
the mailer sends queued e-mail through the outbox (an SMTP outage retried like any
platform's)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from core.agents import AgentType
from core.billing_day import run_day
from core.cdr import intake
from core.clock import today
from core.contributions import JobSpec
from core.fields import Field
from core.gateway_osmp import PROTOCOL as OSMP
from core.hookspecs import hookimpl
from core.invoicing import invoice_period
from core.jobs import job_outcome
from core.mailer import deliver as send_mail
from core.models import Account, Contract, Phone, Subscriber
from core.notify import by_email

GENERIC = AgentType(
    code="generic",
    title="Generic (no integration)",
    account_fields=(Field("ext_id", help="external id that usage records (CDR) carry"),),
)


def abonent_agent_types():
    return [GENERIC]


def abonent_payment_gateways():
    return [OSMP]


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


@hookimpl(trylast=True)
def abonent_notify_subscriber(session, contract_id, channel, subject, body):
    """E-mail, the channel every billing has (a plugin may serve "email" its own way)."""
    return by_email(session, contract_id, channel, subject, body)


def abonent_mail_queued(event, ctx):
    """Send the queued e-mail (core.mailer maps the server's answers to the outcomes)."""
    send_mail(ctx.runtime, event)


def billing_day(ctx) -> dict:
    """The daily run for today (the operator's day): ok, or it raises (and rolls back)."""
    with ctx.runtime.session(actor="scheduler") as session:
        summary = run_day(session, today(ctx.runtime.settings.timezone)).as_dict()
    charges = summary["charges"].values()
    amount = sum((Decimal(c["amount"]) for c in charges), start=Decimal("0.00"))
    return {**summary, "summary": (
        f"{summary['day']}: {sum(c['count'] for c in charges)} charges, {amount}; "
        f"blocked for balance: {summary['blocked_accounts']}")}


def cdr_intake(ctx) -> dict:
    """Rate every settled file of every CDR spool; a file that fails stays for the next.

    Partial when a file could not be taken or lines were rejected (money not charged
    until someone looks), failed when no file could be taken at all."""
    reports = intake(ctx.runtime)
    failed = [f"{r.source}/{r.name}: {r.error}" for r in reports if r.error]
    taken = len(reports) - len(failed)
    rejected = sum(r.rejected for r in reports)
    amount = sum((r.amount for r in reports), start=Decimal("0.00"))
    summary = (f"{taken} of {len(reports)} files taken, {sum(r.taken for r in reports)} "
               f"lines charged {amount}, {rejected} rejected")
    if failed:
        summary += f"; {len(failed)} not taken: {failed[0]}" + (", …" if failed[1:] else "")
    return {"outcome": job_outcome(len(failed) + bool(rejected), taken),
            "summary": summary, "files": len(reports),
            "lines": sum(r.lines for r in reports), "taken": sum(r.taken for r in reports),
            "duplicates": sum(r.duplicates for r in reports), "rejected": rejected,
            "amount": str(amount), "failed": failed}


def monthly_invoices(ctx) -> dict:
    """Invoice the previous month (idempotent: a second run issues nothing new); partial
    when some contracts' invoices failed, failed when all did."""
    first_of_this = today(ctx.runtime.settings.timezone).replace(day=1)
    period = (first_of_this - timedelta(days=1)).replace(day=1)
    report = invoice_period(ctx.runtime, period, actor="scheduler").as_dict()
    failed = report["failed"]
    summary = (f"{period:%Y-%m}: {report['issued']} issued, {report['skipped']} "
               f"already issued, {len(failed)} failed")
    if failed:
        summary += f" (contract {failed[0]['contract_id']}: {failed[0]['error']}" + (
            ", …)" if failed[1:] else ")")
    return {**report, "summary": summary,
            "outcome": job_outcome(len(failed), report["issued"] + report["skipped"])}


def abonent_jobs(runtime):
    config = runtime.settings.section("scheduler")
    at, invoice_at = config["billing_time"], config["invoice_time"]
    return [
        JobSpec("core.billing_day", billing_day, {"hour": at.hour, "minute": at.minute},
                "Daily billing: tariff changes, expiries, dated blocks, charges, "
                "balance blocks"),
        JobSpec("core.cdr_intake", cdr_intake,
                {"minute": f"*/{config['cdr_every_minutes']}"},
                "Rate the usage files waiting in the CDR spools (var/cdr/<source>/)"),
        JobSpec("core.invoices", monthly_invoices,
                {"day": config["invoice_day"], "hour": invoice_at.hour,
                 "minute": invoice_at.minute},
                "Invoices of the previous month for every contract"),
    ]
