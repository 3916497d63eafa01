"""Payment systems: the check / pay protocol at /pay/<gateway>/ of the admin's web process,
driven by the emulated terminal network over a real socket. A pay sent twice (or re-sent
after its answer was lost) is one payment answered the same way; every refusal has its
result code; a bad signature or address is refused and audited; the balances are right."""
from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from sqlalchemy import select

from core import trash_account
from core.errors import ConfigError
from core.gateways import configured
from core.models import AuditEntry, Contract, Payment
from plugins.gateway_emulator import TerminalNetwork

SECRET = "s3cret-of-the-terminals"
D = Decimal


@pytest.fixture
def abonent_config():
    return {"payment_gateways": {
        "term": {"protocol": "osmp", "secret": SECRET, "min_sum": "10", "max_sum": "5000"},
        "bank": {"protocol": "osmp", "secret": SECRET, "allowed_ips": ["192.0.2.0/24"]},
        "slow": {"protocol": "osmp", "secret": SECRET, "rate_limit": 1}}}


def terminals(url: str, gateway: str = "term", **kw) -> TerminalNetwork:
    return TerminalNetwork(f"{url}/pay/{gateway}/", kw.pop("secret", SECRET), **kw)


def money(runtime, contract) -> tuple[Decimal, list[tuple[str, Decimal]]]:
    """The contract's balance and its payments (external id, amount)."""
    with runtime.session() as s:
        balance = s.get(Contract, contract.id).balance
        paid = s.execute(select(Payment.external_id, Payment.amount).where(
            Payment.contract_id == contract.id).order_by(Payment.id)).all()
    return balance, [tuple(row) for row in paid]


def test_check_then_pay_twice_is_one_payment_answered_alike(runtime, factory, live_server):
    contract = factory.contract(number="C-100")
    net = terminals(live_server)
    txn = net.new_txn_id()
    checked = net.check("C-100", "150.50", txn)
    assert (checked.result, checked.txn_id, checked.prv_txn) == (0, txn, None)
    first = net.pay("C-100", "150.50", txn)
    again = net.pay("C-100", "150.50", txn)
    assert first.result == 0 and first.sum == D("150.50") and first.prv_txn
    assert again == first
    assert money(runtime, contract) == (D("150.50"), [(txn, D("150.50"))])
    other = net.payment("C-100", "49.50")
    assert other.result == 0 and other.prv_txn != first.prv_txn
    assert money(runtime, contract)[0] == D("200.00")
    with runtime.session() as s:
        sources = set(s.scalars(select(Payment.source)))
    assert sources == {"gw:term"}


def test_a_lost_answer_is_sent_again_and_recorded_once(runtime, factory, live_server,
                                                       fault_proxy):
    contract = factory.contract(number="C-200")
    proxy = fault_proxy(live_server)
    net = terminals(proxy.url)
    proxy.lose_answer(match=lambda method, path, body: "command=pay" in path)
    txn = net.new_txn_id()
    reply = net.pay("C-200", "300.00", txn)
    assert reply.result == 0 and reply.sum == D("300.00")
    assert [c.fault for c in proxy.calls] == ["lose_answer", None]
    assert net.sent == [("pay", txn), ("pay", txn)]
    assert money(runtime, contract) == (D("300.00"), [(txn, D("300.00"))])
    with runtime.session() as s:
        assert s.get(Payment, reply.prv_txn).external_id == txn


@pytest.mark.sqlite_only
def test_refusals_have_their_codes_and_take_no_money(runtime, factory, live_server):
    contract = factory.contract(number="C-300")
    closed = factory.contract(number="C-301")
    with runtime.session() as s:
        trash_account(s, factory.account(contract=closed).id)
    net = terminals(live_server)
    assert net.check("C-999", "100").result == 5
    assert net.check("bad account!", "100").result == 4
    assert net.check("C-300", "9.99").result == 241
    assert net.check("C-300", "5000.01").result == 242
    assert net.pay("C-301", "100", net.new_txn_id()).result == 7
    assert net.send({"command": "refund", "txn_id": "1", "account": "C-300",
                     "sum": "1"}).result == 300
    assert net.send({"command": "pay", "txn_id": "2", "account": "C-300", "sum": "1,5",
                     "txn_date": "20240101000000"}).comment.startswith("sum:")
    txn = net.new_txn_id()
    assert net.pay("C-300", "100", txn).result == 0
    changed = net.pay("C-300", "200", txn)
    assert (changed.result, changed.prv_txn) == (300, None)
    unsigned = net.send({"command": "check", "txn_id": "3", "account": "C-300", "sum": "100"},
                        sign=False)
    forged = terminals(live_server, secret="guessed").pay("C-300", "100", net.new_txn_id())
    twice = requests.get(f"{live_server}/pay/term/?command=check&txn_id=4&account=C-300"
                         f"&sum=100&sign=a&sign=b", timeout=5)
    assert twice.status_code == 403 and "<result>300</result>" in twice.text
    outsider = terminals(live_server, "bank").check("C-300", "100")
    for refused in (unsigned, forged, outsider):
        assert (refused.status, refused.result) == (403, 300)
    assert money(runtime, contract) == (D("100.00"), [(txn, D("100.00"))])
    with runtime.session() as s:
        reasons = [entry.changes["reason"] for entry in s.scalars(
            select(AuditEntry).where(AuditEntry.action == "gateway.refused"))]
    assert reasons == ["signature: missing (header X-Signature or parameter sign)",
                       "signature: does not match the request",
                       "signature: is given more than once",
                       "address 127.0.0.1 is not in allowed_ips"]
    slow = terminals(live_server, "slow")
    statuses = []
    for _ in range(3):
        try:
            slow.check("C-300", "100")
            statuses.append(200)
        except Exception as exc:  # requests.HTTPError carries the 429
            statuses.append(exc.response.status_code)
    assert 429 in statuses


@pytest.mark.sqlite_only
def test_a_bad_gateway_section_names_every_key(runtime):
    runtime.settings.gateway_sections.update({
        "x": {"protocol": "osmp", "min_sum": "5", "max_sum": "1", "colour": "red"},
        "Bad Name": {"protocol": "osmp"},
        "z": {"protocol": "osmp", "secret": "s", "min_sum": "0.005"},
        "w": {"protocol": "osmp", "secret": "s", "min_sum": "5", "max_sum": "1"},
        "y": {"protocol": "sberbank", "secret": "s"}})
    with pytest.raises(ConfigError) as caught:
        configured(runtime)
    keys = [key for key, _ in caught.value.problems]
    assert keys == ["payment_gateways.x.colour", "payment_gateways.x.secret",
                    "payment_gateways.Bad Name", "payment_gateways.z.min_sum",
                    "payment_gateways.w.min_sum", "payment_gateways.y.protocol"]


@pytest.mark.sqlite_only
def test_the_command_line_pays_as_a_terminal(runtime, factory, live_server, abonent_database,
                                            tmp_path):
    from click.testing import CliRunner

    from admin.cli import cli
    contract = factory.contract(number="C-400")
    env = {"ABONENT_DATABASE_URL": abonent_database.url, "ABONENT_VAR_DIR": str(tmp_path),
           "ABONENT_PLUGINS__DISABLED": "tv24,wialon,jambox,nas_oss", "ABONENT_CONFIG": "",
           "ABONENT_PAYMENT_GATEWAYS__TERM__PROTOCOL": "osmp",
           "ABONENT_PAYMENT_GATEWAYS__TERM__SECRET": SECRET}

    def abonent(*args: str):
        return CliRunner().invoke(cli, list(args), env=env)
    listed = abonent("gateway", "list")
    assert "term: /pay/term/" in listed.output and "secret = ••••••" in listed.output
    assert SECRET not in listed.output
    pay = ("gateway", "pay", "term", "--account", "C-400", "--sum", "120", "--txn-id", "77",
           "--url", live_server)
    first, again = abonent(*pay), abonent(*pay)
    assert first.exit_code == 0 and again.output == first.output
    assert first.output.startswith("txn 77: result 0 (OK); payment ")
    assert money(runtime, contract) == (D("120.00"), [("77", D("120.00"))])
    missing = abonent("gateway", "pay", "term", "--account", "C-0", "--sum", "1", "--url",
                      live_server)
    assert missing.exit_code == 1 and "result 5 (no account C-0)" in missing.output
