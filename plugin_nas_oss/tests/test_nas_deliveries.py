"""Billing events reach the emulated NAS as Carbon's OSS commands, in order, through the
outbox: what the NAS holds afterwards and what the command log says."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import change_account, restore_account, trash_account
from plugin_nas_oss.command_log import NasCommand


@pytest.fixture
def bob(nas):
    """An account with an open session on the emulated NAS."""
    account = nas.account("bob", fields={"ip": "10.0.0.15"})
    nas.drain()
    nas.emulator.state.open_session("bob", "10.0.0.15")
    assert nas.log(account.id) == [("usluga_activated", "no-session")]  # not logged in yet
    nas.forget_log()
    return account


def policy(nas, login="bob"):
    session = nas.emulator.state.session_of(login)
    return None if session is None else (session.address_list, session.rate)


def test_admin_block_and_unblock(nas, bob, block, lift):
    block(bob, "admin")
    nas.drain()
    assert policy(nas) == ("blocked_admin", "64k/64k")
    assert nas.log(bob.id) == [("user_drop", "ack"), ("b_admin", "ack"),
                               ("usluga_deactivated", "ack")]
    lift(bob, "admin")
    nas.drain()
    assert policy(nas) == ("allowed", "100M/100M")
    assert nas.log(bob.id)[3:] == [("u_b_admin", "ack"), ("user_accept", "ack"),
                                   ("usluga_activated", "ack")]
    sent = [(a.kind, dict(a.attributes)) for a in nas.emulator.state.commands_for("bob")]
    # MikroTik names the session by its IP (and its Acct-Session-Id when known)
    assert sent[0] == ("coa", {"Framed-IP-Address": "10.0.0.15", "User-Name": "bob",
                               "Mikrotik-Address-List": "negative_balance"})


def test_second_block_and_lifting_one_of_two(nas, bob, block, lift):
    """admin on a voluntary-blocked account: b_admin, no second user_drop; lifting the
    admin block leaves it blocked: u_b_admin, no user_accept."""
    block(bob, "voluntary")
    block(bob, "admin")
    lift(bob, "admin")
    nas.drain()
    assert [c for c, _ in nas.log(bob.id)] == ["user_drop", "own_disabled", "b_sys",
                                               "usluga_deactivated", "b_admin", "u_b_admin"]
    assert policy(nas) == ("allowed", "64k/64k")  # u_b_admin's list; still rate-limited
    lift(bob, "voluntary")
    nas.drain()
    assert [c for c, _ in nas.log(bob.id)][6:] == ["u_b_sys", "user_accept", "usluga_activated"]


def test_disabled_drops_and_disconnects(nas, bob, block):
    block(bob, "disabled")
    nas.drain()
    assert nas.log(bob.id)[:2] == [("user_drop", "ack"), ("user_disconnect", "ack")]
    assert nas.emulator.state.session_of("bob") is None
    # the services' deactivation found no session any more: nothing to change
    assert nas.log(bob.id)[2:] == [("usluga_deactivated", "no-session")]


def test_key_parameter_change_deletes_with_the_old_values_then_the_new_then_adds(
        nas, bob, session):
    """The seed: user_del with the old values, user_del with the new ones, user_add."""
    nas.configure(commands={"user_add": {"transport": "coa", "attributes": [
        ["Mikrotik-Address-List", "allowed"]]}})
    change_account(session, bob.id, fields={"ip": "10.0.0.99", "radius_password": "pw"})
    session.commit()
    nas.drain()
    sent = nas.emulator.state.applied  # the session of the old IP is gone with the first
    assert [(a.kind, dict(a.attributes).get("Framed-IP-Address")) for a in sent] == [
        ("disconnect", "10.0.0.15")]
    with nas.runtime.session() as s:
        log = s.execute(select(NasCommand.command, NasCommand.request, NasCommand.outcome)
                        .where(NasCommand.id > nas.log_from).order_by(NasCommand.id)).all()
    assert [(command, dict(request)["Framed-IP-Address"], outcome)
            for command, request, outcome in log] == [
        ("user_del", "10.0.0.15", "ack"), ("user_del", "10.0.0.99", "no-session"),
        ("user_add", "10.0.0.99", "no-session")]
    # a change of a field that is no key parameter sends nothing
    change_account(session, bob.id, fields={"ip": "10.0.0.99", "radius_password": "new"})
    session.commit()
    nas.drain()
    assert len(nas.log(bob.id)) == 3


def test_trash_and_restore(nas, bob, session):
    trash_account(session, bob.id)
    session.commit()
    nas.drain()
    assert nas.log(bob.id) == [("user_del", "ack")]
    assert nas.emulator.state.session_of("bob") is None
    restore_account(session, bob.id)
    session.commit()
    nas.drain()  # user_add: the MikroTik profile has nothing to do for it
    assert nas.log(bob.id) == [("user_del", "ack")]


def test_services_carry_their_strings(nas, bob, factory, session):
    from core import activate, deactivate
    from core.models import Subscription
    subscription_id = session.query(Subscription.id).filter_by(account_id=bob.id).scalar()
    deactivate(session, subscription_id)
    session.commit()
    nas.drain()
    assert policy(nas) == (None, "64k/64k")
    activate(session, subscription_id)
    session.commit()
    nas.drain()
    assert policy(nas) == (None, "100M/100M")
    assert [c for c, _ in nas.log(bob.id)] == ["usluga_deactivated", "usluga_activated"]


def test_refusal_is_a_dead_letter_with_the_error_cause(nas, bob, block, dead_letters):
    nas.emulator.nak_next = [501]
    block(bob, "admin")
    nas.drain()
    dead = dead_letters("nas_oss")
    assert len(dead) == 1 and "Administratively-Prohibited" in dead[0].last_error
    assert nas.log(bob.id)[0] == ("user_drop", "nak")


def test_silent_nas_waits_and_keeps_the_order(nas, bob, block, lift, deliveries):
    """Block then unblock while the NAS is silent: nothing lost, no attempt counted, and
    the NAS gets the block before the unblock once it answers."""
    nas.emulator.silent = True
    block(bob, "admin")
    lift(bob, "admin")
    nas.drain(max_rounds=3)  # (the tests' outbox retries at once: no back-off)
    pending = deliveries("nas_oss", "pending")
    assert len(pending) == 4 and {d.attempts for d in pending} == {0}
    # the later ones of the contract wait their turn behind the block
    assert set(nas.log(bob.id)) == {("user_drop", "silent")}
    nas.emulator.silent = False
    nas.drain()
    assert deliveries("nas_oss", "pending") == []
    kinds = [dict(a.attributes).get("Mikrotik-Address-List")
             for a in nas.emulator.state.commands_for("bob")]
    assert kinds == ["negative_balance", "blocked_admin", None, "allowed", "allowed", None]
    assert policy(nas) == ("allowed", "100M/100M")


def test_answer_lost_after_applying(nas, bob, block, deliveries):
    """The NAS applies user_drop but its answer is lost: the delivery is tried again,
    user_drop is sent again (the NAS takes it twice), b_admin once, nothing doubled."""
    nas.emulator.lose_replies = 1
    block(bob, "admin")
    nas.drain(max_rounds=1)
    assert policy(nas) == ("negative_balance", None)  # applied, its answer lost
    assert nas.log(bob.id) == [("user_drop", "silent")]
    nas.drain()
    assert deliveries("nas_oss", "pending") == []
    assert [c for c, o in nas.log(bob.id) if o == "ack"] == ["user_drop", "b_admin",
                                                              "usluga_deactivated"]
    assert policy(nas) == ("blocked_admin", "64k/64k")


@pytest.mark.parametrize("profile, blocked, lifted", [
    # the service's activate string is its ISG / MX service name here
    ("cisco_isg", {"NEGATIVE_BALANCE", "BLOCKED_ADMIN"}, {"100M/100M"}),
    ("juniper_mx", {"negative-balance", "blocked-admin"}, {"internet", "100M/100M"}),
    ("accel_ppp", "blocked_admin", "allowed"),
])
def test_each_vendor_profile_blocks_and_unblocks(nas, bob, block, lift, profile, blocked, lifted):
    nas.configure(profile=profile)
    session = nas.emulator.state.session_of("bob")

    def held():
        return session.filter_id if profile == "accel_ppp" else set(session.services)
    block(bob, "admin")
    nas.drain()
    assert held() == blocked
    lift(bob, "admin")
    nas.drain()
    assert held() == lifted
    assert [c for c, o in nas.log(bob.id) if o == "ack"][:2] == ["user_drop", "b_admin"]


def test_disconnect_whose_answer_was_lost(nas, bob, session, deliveries):
    """user_del applied, its answer lost: sent again, the NAS no longer has the session
    (Session-Context-Not-Found), and that is done, not a dead letter."""
    nas.emulator.lose_replies = 1
    trash_account(session, bob.id)
    session.commit()
    nas.drain()
    assert nas.log(bob.id) == [("user_del", "silent"), ("user_del", "no-session")]
    assert deliveries("nas_oss", "dead") == [] and deliveries("nas_oss", "pending") == []


def test_moving_to_another_nas_deletes_on_the_old_one(nas, bob, factory, session):
    other = factory.agent(type="nas", name="NAS 2", address="127.0.0.1",
                          coa_port=nas.emulator.port, coa_secret=nas.emulator.secret.decode(),
                          radius_secret="r", profile="cisco_isg",
                          commands={"user_add": {"transport": "coa", "attributes": [
                              ["Cisco-AVPair", "subscriber:command=account-logon"]]}})
    change_account(session, bob.id, agent_id=other.id)
    session.commit()
    nas.drain()
    with nas.runtime.session() as s:
        sent = s.execute(select(NasCommand.command, NasCommand.agent_id, NasCommand.outcome)
                         .where(NasCommand.id > nas.log_from).order_by(NasCommand.id)).all()
    assert [tuple(row) for row in sent] == [("user_del", nas.agent.id, "ack"),
                                            ("user_del", other.id, "no-session"),
                                            ("user_add", other.id, "no-session")]
    # (bob has not logged in through NAS 2 yet: nothing to change there)


def test_balance_block_drops_and_its_lifting_accepts(nas, bob, block, lift):
    """Not enough money: user_drop alone (no source command); money back: user_accept."""
    block(bob, "balance", system=True)  # the billing's own block, as check_balances sets it
    nas.drain()
    assert nas.log(bob.id) == [("user_drop", "ack"), ("usluga_deactivated", "ack")]
    lift(bob, "balance")
    nas.drain()
    assert nas.log(bob.id)[2:] == [("user_accept", "ack"), ("usluga_activated", "ack")]
    assert policy(nas) == ("allowed", "100M/100M")
