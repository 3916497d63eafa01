"""The optional second factor of managers: a time-based one-time code (TOTP, RFC 6238) from
an authenticator app, asked for after the password.

A manager turns it on from the profile page: a new secret is shown (text, otpauth:// URI
and QR code) and kept only in the manager's own signed session until a code from the app
confirms it, so a secret never lands in `manager.totp_secret` unconfirmed. An
administrator can reset a manager's second factor (a lost phone); [security]
totp_for_administrators makes it required for the administrator role. Every change is in
the audit log. A code is good for its 30-second step and the one on either side (clock
drift of the phone), and once only: `manager.totp_secret` holds "<secret>:<step>", the
step of the last code used, and a code of that step or an earlier one is refused (RFC
6238 5.2: a code seen over a shoulder or in a proxy's log opens nothing). Wrong codes
count as failed logins (admin.throttle).
"""
from __future__ import annotations

import hmac
import time

import pyotp
import segno
from sqlalchemy import update
from sqlalchemy.orm import Session

from admin.permissions import ADMINISTRATOR
from admin.vocabulary import N_  # the refusals' reasons, translated where shown
from core.audit import audit
from core.errors import ValidationError
from core.models import Manager
from core.services import inputs

ISSUER = "Abonent"
DIGITS = 6


def new_secret() -> str:
    """160 random bits in base32 (what authenticator apps expect)."""
    return pyotp.random_base32()


def uri(secret: str, login: str) -> str:
    """The otpauth:// URI an authenticator app takes (typed in or from the QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)


def qr_image(link: str) -> str:
    """The URI as a QR code, an SVG data: URI for an <img> (the CSP allows data: images)."""
    return segno.make(link, error="m").svg_data_uri(scale=4)


def _stored(secret: str, step: int) -> str:
    return f"{secret}:{step}"


def _parts(stored: str | None) -> tuple[str | None, int]:
    """(secret, step of the last code used) of a `manager.totp_secret` value."""
    secret, _, step = (stored or "").partition(":")
    return secret or None, int(step) if step.isdigit() else -1


def step_of(secret: str | None, code: object, after: int = -1) -> int | None:
    """The step (30-second count) whose code `code` is, among the current step and the
    one on either side and later than `after`; None when it is none of them."""
    code = "".join(str(code or "").split())
    if not secret or len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(time.time()) // totp.interval
    for step in (current - 1, current, current + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def use_code(session: Session, manager_id: int, code: object) -> bool:
    """Whether `code` is a current code of the manager's second factor not used before;
    it is spent at once (a compare-and-set: of two requests with one code one wins)."""
    stored = session.get(Manager, manager_id).totp_secret
    secret, last = _parts(stored)
    step = step_of(secret, code, after=last)
    if step is None:
        return False
    spent = session.execute(update(Manager).where(
        Manager.id == manager_id, Manager.totp_secret == stored).values(
        totp_secret=_stored(secret, step)).execution_options(synchronize_session=False))
    return spent.rowcount == 1


def required(manager: Manager, for_administrators: bool) -> bool:
    """Whether the manager may not work without a second factor."""
    return for_administrators and manager.role.name == ADMINISTRATOR


def _change(session: Session, manager: Manager, secret: str | None, action: str) -> None:
    was = manager.totp_secret is not None
    manager.totp_secret = secret
    session.flush()
    audit(session, action, "manager", manager.id,
          {"second_factor": {"old": "on" if was else "off", "new": "on" if secret else "off"}})


def turn_on(session: Session, manager_id: object, secret: str, code: object) -> Manager:
    """Keep `secret` as the manager's second factor once `code` shows the app has it."""
    manager = inputs.fetch(session, Manager, manager_id, "manager_id")
    step = step_of(secret, code)
    if step is None:
        raise ValidationError("code", N_("is not the code the app shows now"))
    _change(session, manager, _stored(secret, step), "second_factor_on")
    return manager


def turn_off(session: Session, manager_id: object, code: object,
             for_administrators: bool) -> Manager:
    """The manager's own switching off, proved with a current code."""
    manager = inputs.fetch(session, Manager, manager_id, "manager_id")
    if required(manager, for_administrators):
        raise ValidationError("code", N_("a second factor is required for administrators"))
    secret, last = _parts(manager.totp_secret)
    if step_of(secret, code, after=last) is None:
        raise ValidationError("code", N_("is not the code the app shows now"))
    _change(session, manager, None, "second_factor_off")
    return manager


def reset(session: Session, manager_id: object) -> Manager:
    """An administrator's reset (a lost phone): the manager logs in with the password
    alone, or enrols again at once if the second factor is required of them."""
    manager = inputs.fetch(session, Manager, manager_id, "manager_id")
    if manager.totp_secret is None:
        raise ValidationError("manager_id", N_("has no second factor to reset"))
    _change(session, manager, None, "second_factor_reset")
    return manager
