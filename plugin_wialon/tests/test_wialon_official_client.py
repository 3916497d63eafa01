"""The official python-wialon 1.2.4 client against the emulator.

If Gurtam's own SDK can log in, search, read account data, batch and log out
against the emulator, the emulator speaks the real protocol.  The SDK's known
quirks are pinned down as they are, not built upon.
"""

import pytest
from wialon import Wialon, WialonError

from plugin_wialon.emulator import WialonEmulator

TOKEN = "o" * 72

UNITS_OF_777 = {"itemsType": "avl_unit", "propName": "sys_billing_account_guid",
                "propValueMask": "777", "sortType": "sys_name", "propType": "property"}
# "from" is a Python keyword, so paging arguments go in through **.
ALL_ITEMS = {"from": 0, "to": 0}


@pytest.fixture
def emulator():
    with WialonEmulator({TOKEN: "billing"}) as emu:
        emu.add_account(777, units=6)
        emu.add_account(1001, units=2)
        yield emu


def sdk(emulator, sid=None) -> Wialon:
    return Wialon(scheme="http", host="127.0.0.1", port=emulator.port, sid=sid)


@pytest.fixture
def api(emulator) -> Wialon:
    api = sdk(emulator)
    api.sid = api.token_login(token=TOKEN, fl=1)["eid"]
    return api


def search(account_id):
    return {"svc": "core/search_items",
            "params": {"spec": dict(UNITS_OF_777, propValueMask=str(account_id)),
                       "force": 1, "flags": 1, **ALL_ITEMS}}


def test_login_search_account_data_logout(emulator):
    api = sdk(emulator)
    login = api.token_login(token=TOKEN, fl=1)
    assert login["user"]["nm"] == "billing" and isinstance(login["user"]["bact"], int)
    api.sid = login["eid"]

    found = api.core_search_items(spec=UNITS_OF_777, force=1, flags=1, **ALL_ITEMS)
    assert found["totalItemsCount"] == 6 and len(found["items"]) == 6

    data = api.account_get_account_data(itemId=777, type=2)
    assert data["settings"]["combined"]["services"]["avl_unit"]["usage"] == 6

    assert api.core_logout() == {"error": 0}
    with pytest.raises(WialonError) as lost:
        api.core_search_items(spec=UNITS_OF_777, force=1, flags=1, **ALL_ITEMS)
    assert lost.value._code == 1


def test_batch_in_list_and_object_forms(api):
    as_list = api.core_batch([search(777), search(1001)])
    assert [r["totalItemsCount"] for r in as_list] == [6, 2]
    as_object = api.core_batch(params=[search(777), search(1001)], flags=0)
    assert as_object == as_list


def test_calls_before_login_send_sid_none_and_get_error_1(emulator):
    with pytest.raises(WialonError) as no_session:
        sdk(emulator).core_search_items(spec=UNITS_OF_777, force=1, flags=1, **ALL_ITEMS)
    assert no_session.value._code == 1


def test_bad_token_is_error_8(emulator):
    with pytest.raises(WialonError) as refused:
        sdk(emulator).token_login(token="x" * 72, fl=1)
    assert refused.value._code == 8
    assert "Invalid user name or password" in str(refused.value)


def test_expired_session_raises_with_its_code(emulator, api):
    emulator.expire_sessions(1011)
    with pytest.raises(WialonError) as expired:
        api.core_search_items(spec=UNITS_OF_777, force=1, flags=1, **ALL_ITEMS)
    assert expired.value._code == 1011


def test_one_failed_batch_item_loses_the_whole_batch(emulator, api):
    emulator.state.fail_accounts({1001: 7})
    with pytest.raises(WialonError) as failed:
        api.core_batch([search(777), search(1001)])
    # Code 0, not 7, and account 777's good result is gone with it.
    assert failed.value._code == 0
    assert "Access denied (7)" in str(failed.value)


@pytest.mark.parametrize("code", [10, 1011])
def test_known_quirk_unknown_batch_error_code_raises_keyerror(emulator, api, code):
    emulator.state.fail_accounts({1001: code})
    with pytest.raises(KeyError):
        api.core_batch([search(777), search(1001)])


def test_non_json_replies(emulator, api):
    emulator.state.serve_non_json(1, status=502)
    with pytest.raises(WialonError) as bad_gateway:
        api.core_search_items(spec=UNITS_OF_777, force=1, flags=1, **ALL_ITEMS)
    assert "HTTP 502" in str(bad_gateway.value)
    # An HTML page with HTTP 200 is not an error to the SDK: it returns the raw bytes.
    emulator.state.serve_non_json(1, status=200)
    page = api.core_search_items(spec=UNITS_OF_777, force=1, flags=1, **ALL_ITEMS)
    assert isinstance(page, bytes) and page.startswith(b"<html>")


def test_a_count_with_no_data_flags_and_an_account_wialon_does_not_know(api):
    """What the billing's count sends: flags 0 gives the total and bare ids; an unknown
    account is found empty by a search and refused (7) by get_account_data."""
    found = api.core_search_items(spec=UNITS_OF_777, force=1, flags=0, **ALL_ITEMS)
    assert found["totalItemsCount"] == 6 and found["dataFlags"] == 0
    assert all(set(unit) == {"id"} for unit in found["items"])

    unknown = dict(UNITS_OF_777, propValueMask="778")
    assert api.core_search_items(spec=unknown, force=1, flags=0, **ALL_ITEMS)[
        "totalItemsCount"] == 0
    with pytest.raises(WialonError) as refused:
        api.account_get_account_data(itemId=778, type=1)
    assert refused.value._code == 7
