"""abonent-sms: text a subscriber when the service is suspended, when it is back, and
when a payment arrives, and be the channel "sms" of the core's notices (the cabinet's
password-reset code) (docs/writing-plugins.md builds it step by step).

The plugin implements hooks as module functions; the entry point `sms` names this module.
"""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from core import Contract, Field, Panel, hookimpl
from abonent_sms import notices
from abonent_sms.gateway import send
from abonent_sms.messages import text_for
from abonent_sms.store import SmsMessage


def _sender(value: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9]{1,11}", value):
        raise ValueError("the gateway takes 1 to 11 Latin letters and digits")


CONFIG = [
    Field("gateway_url", "url", required=True, label="SMS gateway",
          help="the gateway's base URL, e.g. https://sms.example.net"),
    Field("sender", default="Abonent", help="the name the texts come from", check=_sender),
    Field("language", default="en", choices=("en", "ru")),
    Field("timeout", "decimal", default=5, min=1, max=60,
          help="seconds to wait for the gateway's answer"),
]


@hookimpl
def abonent_config_schema():
    return CONFIG


@hookimpl
def abonent_migrations():
    return Path(__file__).parent / "migrations"


def _notify(event, ctx) -> None:
    text = text_for(event, ctx.config["language"])
    if text is None:
        return
    with ctx.session() as session:  # read and let go: no transaction waits on the network
        contract = session.get(Contract, event.contract_id)
        refs = {f"{event.idempotency_key}:{p.number}": p.number for p in contract.subscriber.phones}
        sent = set(session.scalars(select(SmsMessage.ref).where(SmsMessage.ref.in_(refs))))
    for ref, phone in refs.items():
        if ref in sent:
            continue  # texted at an earlier attempt of this delivery
        gateway_id = send(ctx.config["gateway_url"], sender=ctx.config["sender"], to=phone,
                          text=text, ref=ref, timeout=float(ctx.config["timeout"]))
        with ctx.session() as session:
            session.add(SmsMessage(ref=ref, contract_id=event.contract_id, phone=phone,
                                   text=text, gateway_id=gateway_id))


@hookimpl
def abonent_block_set(event, ctx):
    _notify(event, ctx)


@hookimpl
def abonent_block_lifted(event, ctx):
    _notify(event, ctx)


@hookimpl
def abonent_payment_received(event, ctx):
    _notify(event, ctx)


@hookimpl
def abonent_notify_subscriber(session, contract_id, channel, subject, body):
    return notices.queue(session, contract_id, channel, body)


@hookimpl
def abonent_jobs(runtime):
    return [notices.JOB]


def _row(message: SmsMessage) -> list[str]:
    """A text as the card shows it: a notice (a password-reset code) masked."""
    sent = f"{message.sent_at:%Y-%m-%d %H:%M} UTC" if message.sent_at else "queued"
    notice = message.ref.startswith(notices.NOTICE)
    return [sent, message.phone, "(notice, not shown)" if notice else message.text]


@hookimpl
def abonent_account_panel(session, account):
    sent = select(SmsMessage).where(SmsMessage.contract_id == account.contract_id)
    count = session.scalar(select(func.count()).select_from(sent.subquery()))
    last = session.scalars(sent.order_by(SmsMessage.id.desc()).limit(5))
    return Panel("SMS", rows=[("Texts sent to this contract", count)],
                 tables=[("Last texts", ["Sent", "To", "Text"], [_row(m) for m in last])])
