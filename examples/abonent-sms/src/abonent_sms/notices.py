"""The channel "sms" of the core's notices (the hook `abonent_notify_subscriber`): the
cabinet's password-reset code, for one (`[cabinet] reset_channels = ["sms", "email"]`).

The hook is called inside the caller's transaction, which may still roll back, so it
never calls the gateway: it queues the text as a row of sms_message without a gateway
id, and the job "sms-notices" sends the queued rows every minute, each with its row's
`ref` (the gateway is idempotent by ref: a run that dies after sending and before
recording does not text twice). A notice is the subscriber's secret: it is never logged,
and the account card shows it masked.
"""
from __future__ import annotations

import logging
import uuid

from sqlalchemy import select

from core import Contract, JobSpec, Rejected, RetryLater, now
from abonent_sms.gateway import send
from abonent_sms.store import SmsMessage

log = logging.getLogger("abonent.sms")

NOTICE = "notice:"  # the ref's prefix of a notice (an event's text starts with its key)
BATCH = 100


def queue(session, contract_id: int, channel: str, body: str) -> str | None:
    """Queue `body` to the subscriber's first phone; the phone, or None for another
    channel or a subscriber without a phone (the next channel is tried)."""
    if channel != "sms":
        return None
    phones = session.get(Contract, contract_id).subscriber.phones
    if not phones:
        return None
    session.add(SmsMessage(ref=f"{NOTICE}{uuid.uuid4().hex}", contract_id=contract_id,
                           phone=phones[0].number, text=body, gateway_id=None, sent_at=None))
    return phones[0].number


def send_queued(ctx) -> dict:
    """Send the queued notices; one the gateway refuses for good is dropped (the
    subscriber asks again), one it cannot take now waits for the next run."""
    with ctx.session() as session:  # read and let go: no transaction waits on the network
        queued = session.execute(select(SmsMessage.id, SmsMessage.ref, SmsMessage.phone,
                                        SmsMessage.text)
                                 .where(SmsMessage.gateway_id.is_(None))
                                 .order_by(SmsMessage.id).limit(BATCH)).all()
    sent, waiting, dropped = 0, 0, 0
    for row_id, ref, phone, text in queued:
        try:
            gateway_id = send(ctx.config["gateway_url"], sender=ctx.config["sender"],
                              to=phone, text=text, ref=ref,
                              timeout=float(ctx.config["timeout"]))
        except RetryLater:
            waiting += 1
            continue
        except Rejected as refused:
            log.warning("notice %s to %s dropped: %s", row_id, phone, refused)
            with ctx.session() as session:
                session.delete(session.get(SmsMessage, row_id))
            dropped += 1
            continue
        with ctx.session() as session:
            message = session.get(SmsMessage, row_id)
            message.gateway_id, message.sent_at = gateway_id, now()
        sent += 1
    return {"outcome": "partial" if waiting or dropped else "ok", "sent": sent,
            "waiting": waiting, "dropped": dropped,
            "summary": f"{sent} sent, {waiting} waiting, {dropped} dropped"}


JOB = JobSpec("sms-notices", send_queued, {"minute": "*"}, "Send the queued SMS notices")
