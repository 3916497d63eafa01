"""The channel "sms" of the core's notices (a cabinet's password-reset code): queued in the
caller's transaction, sent by the job once, masked on the account card."""
import pytest

from core import runtime_of

CODE = "Your code to set a new password is 902817."


def call(session, contract_id, channel="sms"):
    """The hook as the core calls it, inside the caller's transaction."""
    return runtime_of(session).hook.abonent_notify_subscriber(
        session=session, contract_id=contract_id, channel=channel, subject="Your code",
        body=CODE)


def notify(runtime, contract_id, channel="sms"):
    with runtime.session() as session:
        return call(session, contract_id, channel)


def test_a_notice_is_sent_by_the_job_once_and_masked_on_the_card(
        runtime, contract, account, gateway, phone, admin_client):
    assert notify(runtime, contract.id) == phone
    with pytest.raises(RuntimeError), runtime.session() as session:
        call(session, contract.id)
        raise RuntimeError("the caller fails after it: rolled back, nothing queued")
    assert gateway.texts() == []             # never from inside the transaction
    run = runtime.context("sms").run_job("sms-notices")
    assert (run["status"], run["summary"]) == ("ok", "1 sent, 0 waiting, 0 dropped")
    runtime.context("sms").run_job("sms-notices")
    assert gateway.texts() == [(phone, CODE)]
    card = admin_client("manager").text(f"/admin/card/{account.id}")
    assert "(notice, not shown)" in card and "902817" not in card


def test_another_channel_or_no_phone_is_left_to_the_next(runtime, factory, contract):
    assert notify(runtime, contract.id, channel="telegram") is None
    assert notify(runtime, factory.contract(factory.subscriber(phones=[])).id) is None


def test_a_number_the_gateway_refuses_is_dropped(runtime, factory, gateway):
    abroad = factory.contract(factory.subscriber(phones=["+48 501 234 567"]))
    notify(runtime, abroad.id)
    run = runtime.context("sms").run_job("sms-notices")
    assert (run["status"], run["summary"]) == ("partial", "0 sent, 0 waiting, 1 dropped")
    assert runtime.context("sms").run_job("sms-notices")["summary"] == (
        "0 sent, 0 waiting, 0 dropped")
    assert gateway.texts() == []
