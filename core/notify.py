"""Telling a subscriber something by a channel: e-mail is built in (the mail log, sent by
the outbox), a plugin adds its own (an SMS gateway's "sms") through the hook
`abonent_notify_subscriber`. The caller names the channels in the order to try; the
first that takes the message wins, so an operator who has SMS can prefer it and fall
back to e-mail for subscribers without a mobile phone.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.mail import queue_mail
from core.models import Contract
from core.runtime import runtime_of

log = logging.getLogger("abonent.notify")


@dataclass(frozen=True)
class Notice:
    """Where a message went: the channel that took it and its address there."""

    channel: str
    to: str


def notify_subscriber(session: Session, contract_id: int, subject: str, body: str,
                      channels: Iterable[str]) -> Notice | None:
    """Queue the message to the contract's subscriber by the first of `channels` that
    takes it, in the session's transaction; None when none could (each refusal logged,
    without the text: it may be a secret)."""
    hook = runtime_of(session).hook.abonent_notify_subscriber
    for channel in channels:
        try:
            with session.begin_nested():
                to = hook(session=session, contract_id=contract_id, channel=channel,
                          subject=subject, body=body)
        except ValidationError as exc:
            log.warning("contract %s cannot be told by %s: %s", contract_id, channel, exc)
            continue
        if to is not None:
            return Notice(channel, str(to))
    return None


def by_email(session: Session, contract_id: int, channel: str, subject: str,
             body: str) -> str | None:
    """The built-in channel "email": a plain mail to the subscriber's address (None for
    another channel or a subscriber without an address)."""
    if channel != "email":
        return None
    contract = session.get(Contract, contract_id)
    if contract is None or not (contract.subscriber.email or "").strip():
        return None
    return queue_mail(session, contract_id, subject, body).recipient
