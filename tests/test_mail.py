"""E-mail through the outbox, against a local SMTP server (tests/mail_sink.py): a message
is sent once however often the outbox runs, waits out a server that is down, and a
refused recipient is a dead letter with the server's answer in the mail log."""
from __future__ import annotations

import pytest

from datetime import date, timedelta
from decimal import Decimal

from click.testing import CliRunner

from core import ValidationError, queue_mail
from core.invoicing import invoice_period
from core.ledger import add_charge
from core.models import MailMessage
from mail_sink import Sink, attachment
from pdf_text import pdf_text

pytestmark = pytest.mark.sqlite_only  # the outbox is the same on both; SMTP is what is tested


@pytest.fixture
def sink():
    server = Sink().start()
    yield server
    server.close()


@pytest.fixture
def abonent_config(sink):
    return {"mail": {"host": "127.0.0.1", "port": sink.port,
                     "from_address": "Billing <billing@isp.example>", "timeout": "5"},
            "outbox": {"backoff_base": "60", "backoff_max": "60"}}


def mail_row(runtime, mail_id: int) -> MailMessage:
    with runtime.session() as s:
        return s.get(MailMessage, mail_id)


def test_a_message_is_sent_once_and_logged(runtime, factory, drain, sink):
    contract = factory.contract(subscriber=factory.subscriber(email="anna@example.org"))
    with runtime.session(actor="manager:olga") as s:
        mail_id = queue_mail(s, contract.id, "Maintenance tonight", "We upgrade at 2 am.").id
    drain()
    drain()
    assert [m["To"] for m in sink.received] == ["anna@example.org"]
    assert sink.received[0]["Subject"] == "Maintenance tonight"
    assert "We upgrade at 2 am." in sink.received[0].get_content()
    logged = mail_row(runtime, mail_id)
    assert (logged.state, logged.queued_by) == ("sent", "manager:olga")
    assert logged.server_reply.startswith("250 2.0.0 queued as 1")


def test_a_server_that_is_down_is_waited_out(runtime, factory, drain, sink, clock,
                                            deliveries):
    contract = factory.contract(subscriber=factory.subscriber(email="boris@example.org"))
    sink.stop()
    with runtime.session() as s:
        mail_id = queue_mail(s, contract.id, "Hello", "Body").id
    drain()
    (pending,) = deliveries("core")
    assert (pending.state, pending.attempts) == ("pending", 0)
    assert "not reached" in mail_row(runtime, mail_id).server_reply
    sink.start()
    drain()
    assert sink.received == []  # its retry is not due yet
    clock.advance(minutes=2)
    drain()
    assert [m["To"] for m in sink.received] == ["boris@example.org"]
    assert mail_row(runtime, mail_id).state == "sent"


def test_a_refused_recipient_is_a_dead_letter(runtime, factory, drain, sink, dead_letters):
    contract = factory.contract(subscriber=factory.subscriber(email="gone@example.org"))
    sink.refuse.add("gone@example.org")
    with runtime.session() as s:
        mail_id = queue_mail(s, contract.id, "Hello", "Body").id
    drain()
    (dead,) = dead_letters("core")
    assert "550 5.1.1" in dead.last_error
    logged = mail_row(runtime, mail_id)
    assert logged.state == "failed" and "550" in logged.server_reply
    assert sink.received == []


def test_a_subscriber_without_an_address_is_named(runtime, factory, counts):
    contract = factory.contract(subscriber=factory.subscriber(name="Ivan Petrov"))
    before = counts()
    with pytest.raises(ValidationError) as refused, runtime.session() as s:
        queue_mail(s, contract.id, "Hello", "Body")
    assert refused.value.field == "email" and "Ivan Petrov" in refused.value.reason
    assert counts() == before


def test_a_month_of_invoices_and_a_statement_are_mailed_once_over_two_runs(
        runtime, factory, drain, sink, abonent_database, tmp_path, counts):
    month = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    paying = factory.contract(subscriber=factory.subscriber(email="vera@example.org"))
    silent = factory.contract(subscriber=factory.subscriber(name="Oleg Nomail"))
    with runtime.session() as s:
        for n, contract in enumerate((paying, silent)):
            add_charge(s, key=f"m{n}", contract_id=contract.id, amount=Decimal("420.00"),
                       kind="manual", period_start=month, period_end=month)
    invoice_period(runtime, month)
    env = {"ABONENT_DATABASE_URL": abonent_database.url, "ABONENT_VAR_DIR": str(tmp_path),
           "ABONENT_PLUGINS__DISABLED": "tv24,wialon,jambox,nas_oss", "ABONENT_CONFIG": "",
           "ABONENT_MAIL__HOST": "127.0.0.1", "ABONENT_MAIL__PORT": str(sink.port),
           "ABONENT_MAIL__FROM_ADDRESS": "billing@isp.example"}
    from admin.cli import cli

    def send(*extra: str):
        return CliRunner().invoke(cli, ["invoice", "send", "--period", f"{month:%Y-%m}",
                                        *extra], env=env)
    before = counts()
    dry = send("--dry-run")
    assert "would queue 1 e-mail(s), 0 already" in dry.output and "nothing was written" in (
        dry.output)
    assert counts() == before
    first, second = send(), send()
    assert "queued 1 e-mail(s), 0 already" in first.output
    assert "queued 0 e-mail(s), 1 already queued or sent" in second.output
    for result in (first, second):
        assert result.exit_code == 1 and "Oleg Nomail" in result.output
        assert "has no e-mail address" in result.output
    drain()
    send()
    day = date.today().isoformat()
    statement = ["statement", paying.number, "--from", day, "--to", day, "--send"]
    assert "queued to vera@example.org" in CliRunner().invoke(cli, statement, env=env).output
    again = CliRunner().invoke(cli, statement, env=env).output
    assert "already queued or sent to vera@example.org" in again
    drain()
    mail, statement_mail = sink.received
    assert attachment(statement_mail)[0] == f"statement-{paying.number}-{day}-{day}.pdf"
    filename, data = attachment(mail)
    assert mail["To"] == "vera@example.org" and filename.startswith("invoice-INV-")
    assert "420.00 RUB" in pdf_text(data) and "Amount due" in pdf_text(data)
