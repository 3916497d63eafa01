"""The NAS panel of the account card and the NAS pages of the admin, as a manager sees
them (the real login, CSRF, the plugins area's rights): the command log, the profiles'
command → action table, the diagnostics buttons showing the NAS's answer."""
from __future__ import annotations

import pytest

from core.models.audit import AuditEntry


@pytest.fixture
def bob(nas):
    nas.configure(profile="cisco_isg")  # ISG answers user_info (account-status-query)
    account = nas.account("bob", fields={"ip": "10.0.0.15", "mac": "AABBCCDDEEFF"})
    nas.emulator.state.open_session("bob", "10.0.0.15")
    nas.drain()
    return account


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_card_panel_shows_the_nas_and_the_latest_commands(nas, bob, block, admin_client):
    block(bob, "admin")
    nas.drain()
    card = admin_client().text(f"/admin/card/{bob.id}")
    assert "NAS 1 (127.0.0.1, profile cisco_isg)" in card
    assert "aa:bb:cc:dd:ee:ff" in card and "10.0.0.15 / — / —" in card
    assert f"/admin/nas_account/?account_id={bob.id}" in card
    assert "b_admin" in card and "CoA-ACK" in card


def test_user_info_shows_the_nas_answer_and_is_logged(nas, bob, admin_client):
    admin = admin_client()
    shown = page(admin.post("/admin/nas_account/send", {"account_id": bob.id,
                                                        "command": "user_info"},
                            follow_redirects=True))
    assert "user_info: ack" in shown and "Framed-IP-Address=10.0.0.15" in shown
    assert nas.log(bob.id)[-1] == ("user_info", "ack")
    with nas.runtime.session() as s:
        audited = s.query(AuditEntry).filter_by(action="user_info", object_id=str(bob.id)).one()
    assert audited.changes["outcome"] == "ack"
    nas.emulator.silent = True
    shown = page(admin.post("/admin/nas_account/send", {"account_id": bob.id,
                                                        "command": "user_disconnect"},
                            follow_redirects=True))
    assert "user_disconnect: silent" in shown and "NAS silent" in shown


def test_buttons_refuse_bad_input_naming_the_field(nas, bob, admin_client):
    admin = admin_client()
    for data, named in (({"account_id": bob.id, "command": "user_drop"}, "command"),
                        ({"account_id": "x", "command": "user_info"}, "account_id")):
        shown = page(admin.post("/admin/nas_account/send", data, follow_redirects=True))
        assert f"Refused — {named}" in shown
    assert "Refused — account_id" in page(admin.get("/admin/nas_account/?account_id=999999",
                                                    follow_redirects=True))
    assert nas.log(bob.id)[-1][0] != "user_drop"


def test_command_log_filters_and_profiles_table(nas, bob, block, admin_client):
    block(bob, "admin")
    nas.drain()
    admin = admin_client()
    log = admin.text(f"/admin/nas_commands/?command=b_admin&account_id={bob.id}")
    assert "subscriber:service-name=BLOCKED_ADMIN" in log
    assert "<td>b_admin</td>" in log and "<td>user_drop</td>" not in log
    assert "Refused — outcome" in admin.text("/admin/nas_commands/?outcome=maybe")
    profiles = admin.text("/admin/nas_profiles/")
    assert "Mikrotik-Address-List = &#34;negative_balance&#34;" in profiles or \
        "Mikrotik-Address-List = &quot;negative_balance&quot;" in profiles
    assert "NAS 1" in profiles and "cisco_isg" in profiles
