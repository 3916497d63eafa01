"""users_from_nas: the scheduled comparison of a NAS's sessions with the billing, against
the emulated NAS (CoA port) and NAPALM's mock driver; each run recorded as a job run."""
from __future__ import annotations

import json

import pytest

from core import last_runs
from plugin_nas_oss.sessions import START, Accounting, record_all
from plugin_nas_oss.sync import users_from_nas


@pytest.fixture
def online(nas, session, settle):
    """online(login, account=None, ip=None): a session open on the emulated NAS and in the
    accounting table, as the RADIUS server records an Accounting-Start."""
    def start(login: str, account=None, ip: str | None = None) -> str:
        held = nas.emulator.state.open_session(login, ip=ip)
        record_all(session, [Accounting(
            agent_id=nas.agent.id, status=START, session_id=held.session_id, username=login,
            account_id=account.id if account else None, framed_ip=ip, mac=None,
            octets_in=0, octets_out=0, terminate_cause=None)])
        settle()
        return held.session_id
    return start


def run(runtime, nas) -> dict:
    return runtime.context("nas_oss").run_job(f"nas-sync-{nas.agent.id}")


def test_only_nases_with_sync_on_get_a_job(runtime, nas, factory):
    from core import job_specs
    assert f"nas-sync-{nas.agent.id}" not in job_specs(runtime)
    nas.configure(sync_sessions=True)
    broken = factory.agent(type="nas", name="NAS 2", address="not an address",
                           sync_sessions=True)  # written around the form: no job, no crash
    assert f"nas-sync-{nas.agent.id}" in job_specs(runtime)
    assert f"nas-sync-{broken.id}" not in job_specs(runtime)


def test_a_blocked_account_online_gets_user_drop_and_a_stranger_is_disconnected(
        runtime, nas, online, block):
    nas.configure(sync_sessions=True)
    bob, eve = nas.account("bob"), nas.account("eve")
    online("bob", bob, ip="10.0.0.5")
    online("eve", eve, ip="10.0.0.6")
    stranger = online("mallory", None, ip="10.0.0.66")
    block(eve, "admin")  # its deliveries never ran: the NAS still lets eve in fully
    result = run(runtime, nas)
    assert result["status"] == "ok", result
    drift = {(d["kind"], d["command"], d["outcome"]) for d in result["result"]["drift"]}
    assert drift == {("blocked_online", "user_drop", "ack"),
                     ("unknown_session", "user_disconnect", "ack")}
    assert nas.emulator.state.session_of("eve").address_list == "negative_balance"
    assert stranger not in nas.emulator.state.sessions
    assert nas.emulator.state.session_of("bob").address_list is None
    assert result["summary"] == "NAS 1: 2 accounts, 2 drift, 2 fixed"


def test_a_second_run_finds_nothing_to_do(runtime, nas, online, block):
    nas.configure(sync_sessions=True)
    eve = nas.account("eve")
    online("eve", eve)
    block(eve, "admin")
    run(runtime, nas)
    sent = len(nas.emulator.received)
    again = run(runtime, nas)
    assert (again["status"], again["result"]["drift"]) == ("ok", [])
    assert len(nas.emulator.received) == sent


def test_an_active_account_the_nas_last_restricted_gets_user_accept(runtime, nas, online,
                                                                    block, lift, drain):
    nas.configure(sync_sessions=True)
    bob = nas.account("bob")
    online("bob", bob)
    block(bob, "admin")
    drain()                      # user_drop and b_admin reach the NAS
    lift(bob, "admin")           # ... the lift's deliveries have not run yet
    result = run(runtime, nas)
    assert [(d["kind"], d["command"], d["outcome"]) for d in result["result"]["drift"]] == [
        ("restricted_active", "user_accept", "ack")]
    assert nas.emulator.state.session_of("bob").address_list == "allowed"


def test_a_silent_nas_fails_the_run(runtime, nas, online, block):
    nas.configure(sync_sessions=True)
    eve = nas.account("eve")
    online("eve", eve)
    block(eve, "admin")
    nas.emulator.silent = True
    result = run(runtime, nas)
    assert result["status"] == "failed"
    assert "1 drift, 0 fixed, 1 not fixed" in result["summary"]
    nas.emulator.silent = False
    assert run(runtime, nas)["status"] == "ok"  # the next run repairs it


def test_a_nas_that_cannot_be_read_is_a_failed_run_unless_out_of_service(runtime, nas):
    nas.configure(sync_sessions=True, napalm_driver="mock")  # no canned answers: it fails
    result = run(runtime, nas)
    assert result["status"] == "failed" and "cannot read the NAS" in result["summary"]
    with runtime.session() as s:
        assert last_runs(s)[f"nas-sync-{nas.agent.id}"].status == "failed"
    nas.configure(in_service=False)
    quiet = run(runtime, nas)
    assert quiet["status"] == "ok" and "out of service" in quiet["summary"]


def test_a_static_account_missing_from_the_arp_table_is_drift(runtime, nas, tmp_path):
    nas.configure(sync_sessions=True, napalm_driver="mock")
    nas.account("shop", fields={"auth_type": "static", "ip": "10.0.0.20"})
    nas.account("home", fields={"auth_type": "static", "ip": "10.0.0.21"})
    arp = [{"interface": "vlan100", "mac": "00:1a:2b:3c:4d:5e", "ip": "10.0.0.21", "age": 3.0}]
    (tmp_path / "get_arp_table.1").write_text(json.dumps(arp))
    result = users_from_nas(runtime.context("nas_oss"), nas.agent.id, {"path": str(tmp_path)})
    # found; the MikroTik profile has no user_add action, so it stays (and the run says so)
    assert [(d["kind"], d["detail"], d["outcome"]) for d in result["drift"]] == [
        ("missing_static", "shop: 10.0.0.20 not seen on the NAS", "skipped")]
    assert result["outcome"] == "failed" and "1 not fixed" in result["summary"]
