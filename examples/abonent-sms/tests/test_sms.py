"""What the subscriber reads, and when."""
import pytest

from abonent_sms import CONFIG
from core import ValidationError


def test_blocked_paid_and_back_in_the_order_it_happened(contract, account, block, pay, lift,
                                                        drain, gateway, phone):
    block(account, "admin")
    pay(contract, "500.00")
    lift(account, "admin")
    drain()
    assert gateway.texts() == [
        (phone, f"{contract.number}: your service is suspended (by the operator)."),
        (phone, f"{contract.number}: payment of 500.00 received, balance 500.00."),
        (phone, f"{contract.number}: your service is back. Thank you!")]


def test_a_second_block_and_a_partial_lift_are_not_texted(contract, account, block, lift,
                                                          drain, gateway, phone):
    block(account, "voluntary")
    block(account, "admin")      # blocked already: old state "voluntary", not "active"
    lift(account, "admin")       # still blocked: new state "voluntary"
    lift(account, "voluntary")
    drain()
    assert gateway.texts() == [
        (phone, f"{contract.number}: your service is suspended (at your request)."),
        (phone, f"{contract.number}: your service is back. Thank you!")]


def test_a_number_the_gateway_refuses_is_a_dead_letter(factory, block, drain, gateway,
                                                       dead_letters):
    abroad = factory.contract(factory.subscriber(phones=["+48 501 234 567"]))
    block(factory.account(contract=abroad), "admin")
    drain()
    (dead,) = dead_letters("sms")
    assert dead.event == "block_set" and "to: must match" in dead.last_error
    assert gateway.texts() == []


def test_the_account_card_shows_the_texts(contract, account, block, drain, admin_client):
    block(account, "admin")
    drain()
    page = admin_client("manager").text(f"/admin/card/{account.id}")
    assert "Texts sent to this contract" in page
    assert "your service is suspended (by the operator)." in page


def test_a_sender_the_gateway_cannot_show_is_refused_by_name():
    sender = next(field for field in CONFIG if field.name == "sender")
    with pytest.raises(ValidationError) as refused:
        sender.clean("My ISP Ltd.", "plugins.sms.")
    assert refused.value.field == "plugins.sms.sender"
