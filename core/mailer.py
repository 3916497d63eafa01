"""The built-in mailer: sends one queued e-mail (a `mail_queued` delivery) through the
`[mail]` SMTP server and records the server's answer in the mail log.

What the server says maps to the outbox's outcomes (docs/hooks.md, "Outcomes of a
delivery") once, here: no connection, a timeout, a dropped line or a 4xx answer is
`RetryLater` (the outage costs no attempts); a recipient or a message refused with a 5xx
is `Rejected` (dead at once, the mail marked failed); anything else (a refused login, a
bug) propagates as a counted failed attempt. SMTP is spoken step by step (MAIL, RCPT,
DATA) so the answer to each is known and kept.

A message already sent is never sent again by a later attempt of its delivery; each
carries a Message-ID made of its row's id, so even the one case left (sent, and the
process killed before it wrote so) is recognisable by the recipient's server.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Any

from core.clock import now
from core.errors import Rejected, RetryLater
from core.models import MailMessage


class Answer(Exception):
    """The server refused a step: its code and text."""

    def __init__(self, step: str, code: int, text: str):
        super().__init__(f"{step}: {code} {text}")
        self.code = code


def compose(session, mail: MailMessage, sender: str) -> EmailMessage:
    """The message of a mail log row, its document attached as PDF."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    domain = parseaddr(sender)[1].rpartition("@")[2] or "abonent.invalid"
    message["Message-ID"] = f"<abonent-mail-{mail.id}@{domain}>"
    message.set_content(mail.body)
    if mail.document is not None:
        from core.pdf import mail_attachment
        filename, data = mail_attachment(session, mail)
        message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return message


def _step(step: str, answer: tuple[int, bytes]) -> str:
    code, text = answer[0], answer[1].decode("utf-8", "replace")
    if not 200 <= code < 400:
        raise Answer(step, code, text)
    return f"{code} {text}"


def _connect(config: dict[str, Any]) -> smtplib.SMTP:
    timeout = float(config["timeout"])
    if config["security"] == "ssl":
        return smtplib.SMTP_SSL(config["host"], config["port"], timeout=timeout,
                                context=ssl.create_default_context())
    smtp = smtplib.SMTP(config["host"], config["port"], timeout=timeout)
    if config["security"] == "starttls":
        smtp.starttls(context=ssl.create_default_context())
    return smtp


def send(config: dict[str, Any], message: EmailMessage) -> str:
    """Send one message; returns the server's answer to its DATA ("250 OK…")."""
    sender = parseaddr(message["From"])[1]
    with _connect(config) as smtp:
        smtp.ehlo_or_helo_if_needed()
        if config["user"]:
            smtp.login(config["user"], config["password"])
        _step("MAIL FROM", smtp.mail(sender))
        _step("RCPT TO", smtp.rcpt(message["To"]))
        # SMTP's lines end in CRLF; smtplib leaves a bytes message as it is given
        return _step("DATA", smtp.data(message.as_bytes(
            policy=message.policy.clone(linesep="\r\n"))))


def _record(runtime, mail_id: int, **values: Any) -> None:
    with runtime.session(actor="mailer") as session:
        mail = session.get(MailMessage, mail_id)
        mail.attempts += 1
        for key, value in values.items():
            setattr(mail, key, value)


def deliver(runtime, event) -> None:
    """The delivery of `mail_queued` (plugins.builtin): send it, or say why not."""
    mail_id = event.payload["mail"]["id"]
    config = runtime.settings.section("mail")
    with runtime.session(actor="mailer") as session:
        mail = session.get(MailMessage, mail_id)
        if mail is None or mail.state == "sent":
            return
        message = compose(session, mail, formataddr(parseaddr(config["from_address"])))
    try:
        reply = send(config, message)
    except smtplib.SMTPAuthenticationError as exc:  # our settings: counted, not waited out
        _failed_attempt(runtime, event, mail_id, f"login refused: {exc}")
        raise
    except (Answer, smtplib.SMTPResponseException) as exc:
        code = exc.code if isinstance(exc, Answer) else exc.smtp_code
        if code >= 500 and not isinstance(exc, smtplib.SMTPConnectError):
            _record(runtime, mail_id, state="failed", server_reply=str(exc))
            raise Rejected(f"mail {mail_id} to {message['To']}: {exc}") from None
        _record(runtime, mail_id, server_reply=str(exc))
        raise RetryLater(f"mail server: {exc}") from None
    except smtplib.SMTPNotSupportedError as exc:  # no STARTTLS, no AUTH: our settings
        _failed_attempt(runtime, event, mail_id, str(exc))
        raise
    except OSError as exc:  # refused, unreachable, a timeout, a dropped line (smtplib's too)
        _record(runtime, mail_id, server_reply=f"not reached: {exc}")
        raise RetryLater(f"mail server {config['host']}:{config['port']} not reached: "
                         f"{exc}") from None
    except Exception as exc:
        _failed_attempt(runtime, event, mail_id, str(exc))
        raise
    _record(runtime, mail_id, state="sent", server_reply=reply, sent_at=now())


def _failed_attempt(runtime, event, mail_id: int, error: str) -> None:
    """A counted failure: the mail is failed once the outbox gives its delivery up."""
    last = event.attempt >= runtime.settings.section("outbox")["max_attempts"]
    _record(runtime, mail_id, server_reply=error, **({"state": "failed"} if last else {}))
