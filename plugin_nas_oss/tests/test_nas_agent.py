"""The "NAS" agent type: settings and account fields refused with the field named, the MAC
stored in one spelling, the IP unique per NAS among live accounts."""
from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from core import ValidationError, change_account, restore_account, trash_account
from core.models import Account
from plugin_nas_oss import profiles


def test_settings_refused_naming_the_field(factory, runtime):
    agent_type = runtime.agent_type("nas", "agent_id")
    base = {"address": "10.0.0.1", "coa_secret": "a", "radius_secret": "b"}
    assert agent_type.clean_settings(base)["coa_port"] == 3799
    for key, value, field in (("address", "10.0.0.300", "settings.address"),
                              ("coa_port", "70000", "settings.coa_port"),
                              ("profile", "huawei", "settings.profile"),
                              ("commands", {"user_drop": {"transport": "ssh"}},
                               "settings.commands"),
                              ("commands", {"user_dorp": {}}, "settings.commands")):
        with pytest.raises(ValidationError) as caught:
            agent_type.clean_settings({**base, key: value})
        assert caught.value.field == field, (key, value)


def test_account_fields(nas):
    account = nas.account(fields={"ip": "10.0.0.15", "mac": "AA-BB-CC-DD-EE-0F", "vlan": "101"})
    assert account.fields["mac"] == "aa:bb:cc:dd:ee:0f"
    assert account.fields["vlan"] == 101
    assert account.fields["auth_type"] == "pppoe"
    for fields, name in (({"ip": "10.0.0"}, "fields.ip"), ({"mac": "aa:bb"}, "fields.mac"),
                         ({"vlan": "5000"}, "fields.vlan"),
                         ({"auth_type": "dialup"}, "fields.auth_type"),
                         ({"auth_type": "static"}, "fields.ip")):
        with pytest.raises(ValidationError) as caught:
            nas.account(login="x" + name, fields=fields)
        assert caught.value.field == name, fields


def test_ip_unique_per_nas_among_live_accounts(nas, factory, session):
    first = nas.account(login="a1", fields={"ip": "10.0.0.15"})
    other_nas = factory.agent(type="nas", name="NAS 2", address="10.9.9.9", coa_secret="x",
                              radius_secret="y")
    nas.account(login="a2", fields={"ip": "10.0.0.15"}, agent=other_nas)  # another NAS: fine
    with pytest.raises(ValidationError) as caught:
        nas.account(login="a3", fields={"ip": "10.0.0.15"})
    assert caught.value.field == "fields.ip" and "a1" in caught.value.reason
    second = nas.account(login="a4", fields={"ip": "10.0.0.16"})
    with pytest.raises(ValidationError):
        change_account(session, second.id, fields={"ip": "10.0.0.15", "radius_password": "pw"})
    session.rollback()
    trash_account(session, first.id)
    change_account(session, second.id, fields={"ip": "10.0.0.15", "radius_password": "pw"})
    session.commit()
    assert session.get(Account, second.id).fields["ip"] == "10.0.0.15"
    with pytest.raises(ValidationError) as caught:
        restore_account(session, first.id)
    assert caught.value.field == "fields.ip"
    session.rollback()
    assert session.get(Account, first.id).trashed_at is not None


@pytest.mark.postgresql_only
def test_ip_unique_per_nas_in_the_database_too(nas, session):
    """Two saves at once both pass the check before the flush: the database's unique
    index (nas_oss_0004) stops the second, here written past the check."""
    nas.account(login="a1", fields={"ip": "10.0.0.15"})
    second = nas.account(login="a2", fields={"ip": "10.0.0.16"})
    with pytest.raises(IntegrityError):
        session.execute(update(Account).where(Account.id == second.id)
                        .values(fields={"ip": "10.0.0.15"}))
    session.rollback()
    trash_account(session, second.id)  # the trash holds no address
    session.execute(update(Account).where(Account.id == second.id)
                    .values(fields={"ip": "10.0.0.15"}))
    session.commit()


def test_profiles_cover_every_command_and_render():
    assert profiles.names()[:4] == ["accel_ppp", "cisco_isg", "juniper_mx", "mikrotik"]
    mikrotik = profiles.get("mikrotik")
    assert mikrotik.action("user_drop").render({"ip": "10.0.0.15"}) == [
        ("Mikrotik-Address-List", "negative_balance")]
    # a template whose value the account lacks is left out, not sent as ""
    assert mikrotik.action("usluga_activated").render({}) == []
    assert mikrotik.action("users_from_nas").transport == "none"
    with pytest.raises(ValueError, match="user_drop"):
        profiles.parse_action("user_drop", {"transport": "coa",
                                            "attributes": [["Filter-Id", "{x}"]]})
    custom = mikrotik.with_overrides({"user_drop": {"transport": "coa",
                                                    "attributes": [["Filter-Id", "neg-{login}"]]}})
    assert custom.action("user_drop").render({"login": "bob"}) == [("Filter-Id", "neg-bob")]
    assert mikrotik.action("user_drop").transport == "coa"  # the registered profile unchanged
