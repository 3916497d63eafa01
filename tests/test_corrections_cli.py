"""The command line of corrections: `abonent payment reverse`, `abonent credit add |
promise | instalment`, `abonent charge add` — a dry run writes nothing, a large amount
needs --confirm, bad input is one line naming the field, and the money is right."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.clock import frozen
from core.models import Contract, Payment
from core.services.instalments import create_instalment
from core.services.payments import record_payment
from core.services.promises import give_promise
from support import cli_runner


@pytest.fixture
def abonent(abonent_database, tmp_path):
    return cli_runner(abonent_database.url, tmp_path,
                      ABONENT_PLUGINS__DISABLED="tv24,wialon,jambox,nas_oss",
                      ABONENT_MONEY__CONFIRM_ABOVE="1000")


def balance(runtime, contract_id) -> Decimal:
    with runtime.session() as s:
        return s.get(Contract, contract_id).balance


def test_reverse_from_the_command_line(runtime, factory, abonent, counts):
    contract = factory.contract()
    with runtime.session() as s:
        paid = record_payment(s, contract.id, "150.00").payment
    before = counts()
    dry = abonent("payment", "reverse", str(paid.id), "--reason", "typo", "--dry-run").stdout
    assert "would be: payment" in dry and "balance 0.00" in dry and "nothing was written" in dry
    assert counts() == before
    out = abonent("payment", "reverse", str(paid.id), "--reason", "typo").stdout
    assert f"payment {paid.id} reversed by" in out and "-150.00" in out
    assert balance(runtime, contract.id) == Decimal("0.00")
    again = abonent("payment", "reverse", str(paid.id), "--reason", "typo", ok=False)
    assert "payment_id: payment" in again.stderr and "already reversed" in again.stderr
    assert "reason" in abonent("payment", "reverse", str(paid.id), ok=False).stderr
    assert "ID" in abonent("payment", "reverse", "abc", "--reason", "x", ok=False).stderr
    unknown = abonent("payment", "reverse", "99999", "--reason", "x", ok=False).stderr
    assert "payment_id: no payment with id 99999" in unknown
    with runtime.session() as s:
        assert s.scalar(select(Payment.reverses_id).where(Payment.kind == "reversal")) == paid.id


def test_credit_charge_promise_and_instalment(runtime, factory, abonent, counts):
    contract = factory.contract()
    number = contract.number
    before = counts()
    big = abonent("credit", "add", "--contract", number, "--amount", "1500", "--reason", "x",
                  ok=False).stderr
    assert "confirm: 1500.00 is above 1000.00: confirm the amount" in big
    for args, field in [(("--amount", "-1", "--reason", "x"), "amount: must not be negative"),
                        (("--amount", "0", "--reason", "x"), "amount: must not be zero"),
                        (("--amount", "ten", "--reason", "x"), "amount: 'ten'"),
                        (("--amount", "10", "--reason", " "), "reason: is required")]:
        assert field in abonent("credit", "add", "--contract", number, *args, ok=False).stderr
    assert "contract: no contract numbered NOPE" in abonent(
        "charge", "add", "--contract", "NOPE", "--amount", "1", "--reason", "x",
        ok=False).stderr
    assert "confirm: 2000.00 is above 1000.00" in abonent(
        "payment", "add", "--contract", number, "--amount", "2000", ok=False).stderr
    abonent("credit", "add", "--contract", number, "--amount", "1500", "--reason", "x",
            "--dry-run", "--confirm")
    assert counts() == before
    abonent("credit", "add", "--contract", number, "--amount", "1500", "--reason",
            "prepaid", "--confirm")
    abonent("charge", "add", "--contract", number, "--amount", "99.90", "--reason", "visit")
    assert balance(runtime, contract.id) == Decimal("1400.10")
    out = abonent("credit", "promise", "--contract", number, "--amount", "100").stdout
    assert "until" in out and "balance 1500.10" in out
    twice = abonent("credit", "promise", "--contract", number, "--amount", "100",
                    ok=False).stderr
    assert "contract: contract" in twice and "already has promised payment" in twice
    plan = abonent("credit", "instalment", "--contract", number, "--title", "Router",
                   "--price", "300", "--months", "3").stdout
    assert "300.00 in 3 parts" in plan and "1 charged; balance 1400.10" in plan
    assert "months: must be from 1 to 24" in abonent(
        "credit", "instalment", "--contract", number, "--title", "Router", "--price", "300",
        "--months", "0", ok=False).stderr
    abonent("payment", "add", "--contract", number, "--amount", "2000", "--confirm")
    assert balance(runtime, contract.id) == Decimal("3300.10")  # the promise ended: paid


def test_the_billing_day_run_shows_instalments_and_expired_promises(runtime, factory,
                                                                      abonent):
    contract = factory.contract()
    with frozen(datetime(2026, 11, 2, 12, tzinfo=timezone.utc)), runtime.session() as s:
        give_promise(s, contract.id, "100.00")
        create_instalment(s, contract.id, "TV box", "200.00", 2)
    out = abonent("charge", "run", "--date", "2026-12-02", "--dry-run").stdout
    assert "instalment        1 charges          100.00" in out
    assert "promised payments expired 1" in out and "nothing was written" in out
    assert balance(runtime, contract.id) == Decimal("0.00")  # 100 promised − 100 charged
    abonent("charge", "run", "--date", "2026-12-02")
    abonent("charge", "run", "--date", "2026-12-02")  # twice: nothing more
    assert balance(runtime, contract.id) == Decimal("-200.00")
