"""The Remote API services the billing uses, answered the way Wialon answers them.

Each service takes the state, the caller's session and the decoded ``params``
and returns the JSON-ready result, or raises ``ApiError`` for the error
envelope.  Only what counting units per billing account needs is emulated:

* ``token/login`` (no session), ``core/logout``;
* ``core/search_items`` for ``avl_unit`` by ``sys_billing_account_guid``;
* ``account/get_account_data`` for one ``itemId``;
* ``core/batch`` over the services above, in both documented forms.

Choices where the documentation leaves room:

* a bad token answers 8 ("invalid user name or password"), a missing or
  non-string token 4 ("invalid input").  The real service may also answer 4
  for a malformed token; the billing's client treats every refused login the
  same way, so either is handled;
* an unknown service answers 2 ("invalid service name") as the errors page
  documents, not 4 or 6;
* ``get_account_data`` for an account that does not exist (or is not visible)
  answers 7 ("access denied"), as Wialon does for items it cannot find;
* searching units of an unknown account simply finds nothing (0 items);
* the 11th failed login within a minute from one IP (and any login from it
  until the minute has passed) answers 1003 with reason "LIMIT failed_logins":
  Wialon documents the block but not its code, and 1003 is its "limit
  exceeded" family ("LIMIT api_concurrent" for too many requests at once).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Callable

from ..errors import Code
from .state import Account, ApiError, EmulatorState, Session

# Data flag 0x1 ("base"): id, nm, cls, mu, uacl; without it a unit is its id alone.  Other
# flags are accepted and add nothing (no unit here has more to tell).
ITEM_DATAFLAG_BASE = 0x1
UNIT_CLASS_ID = 2  # "avl_unit" in the login reply's "classes"
USER_CLASS_ID = 1
FULL_ACCESS = 0x7FFFFFFFF
BATCH_STOP_ON_ERROR = 0x1

CLASSES = {
    "user": USER_CLASS_ID,
    "avl_unit": UNIT_CLASS_ID,
    "avl_resource": 3,
    "avl_hw": 4,
    "avl_unit_group": 5,
    "avl_route": 6,
    "avl_retranslator": 7,
}


def _int_param(params: dict, key: str, default: int | None = None) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(Code.INVALID_INPUT, f"'{key}' must be an integer")
    return value


def _raise_injected_fault(state: EmulatorState, account_id: int) -> None:
    code = state.take_account_fault(account_id)
    if code is not None:
        raise ApiError(code)


def token_login(state: EmulatorState, params: dict, ip: str) -> dict:
    """``token/login``: open a session and describe the user, as core/login does."""
    token = params.get("token")
    if not isinstance(token, str) or not token:
        raise ApiError(Code.INVALID_INPUT, "'token' is required")
    session = state.login(token, ip)
    user = session.user
    now = int(time.time())
    return {
        "host": ip,
        "eid": session.sid,
        "gis_sid": secrets.token_hex(16),
        "au": user.name,
        "tm": now,
        "wsdk_version": "emulator",
        "user": {
            "nm": user.name,
            "cls": USER_CLASS_ID,
            "id": user.id,
            "prp": {"language": "en", "tz": "0"},
            "crt": user.id,
            "bact": user.account_id,
            "fl": 0,
            "hm": "",
            "uacl": FULL_ACCESS,
            "mu": 0,
            "ct": now,
            "ld": now,
        },
        "token": json.dumps(
            {"app": params.get("appName", ""), "ct": now, "at": now, "dur": 0,
             "fl": -1, "p": "{}", "items": []}
        ),
        "th": token,
        "classes": CLASSES,
        "features": {"unlim": 1, "svcs": {"avl_unit": 1}},
    }


def logout(state: EmulatorState, session: Session, params: dict) -> dict:
    """``core/logout``: ``{"error": 0}`` means "logged out" in Wialon."""
    state.logout(session.sid)
    return {"error": 0}


def _units(account: Account | None) -> list[dict]:
    if account is None:
        return []
    return [
        {"id": account.first_unit_id + n, "nm": f"{account.name} unit {n + 1:03d}",
         "cls": UNIT_CLASS_ID, "mu": 0, "uacl": FULL_ACCESS}
        for n in range(account.units)
    ]


def search_items(state: EmulatorState, session: Session, params: dict) -> dict:
    """``core/search_items``: the units of one billing account, paged by from/to."""
    spec = params.get("spec")
    if not isinstance(spec, dict):
        raise ApiError(Code.INVALID_INPUT, "'spec' must be an object")
    if spec.get("itemsType") != "avl_unit" or spec.get("propName") != "sys_billing_account_guid":
        raise ApiError(Code.INVALID_INPUT,
                       "the emulator searches only avl_unit by sys_billing_account_guid")
    flags = _int_param(params, "flags", 0)
    first = _int_param(params, "from", 0)
    last = _int_param(params, "to", 0)
    mask = str(spec.get("propValueMask", ""))
    account = None
    if mask.isdigit():
        _raise_injected_fault(state, int(mask))
        account = state.account(int(mask))
    units = _units(account)
    if spec.get("sortType") == "sys_name":
        units.sort(key=lambda unit: unit["nm"])
    end = len(units) if last == 0 else min(last + 1, len(units))
    page = units[first:end]
    if not flags & ITEM_DATAFLAG_BASE:
        page = [{"id": unit["id"]} for unit in page]
    return {
        "searchSpec": spec,
        "dataFlags": flags,
        "totalItemsCount": len(units),
        "indexFrom": first,
        "indexTo": last,
        "items": page,
    }


def get_account_data(state: EmulatorState, session: Session, params: dict) -> dict:
    """``account/get_account_data``: billing settings; ``type`` 2 adds ``settings``."""
    account_id = _int_param(params, "itemId")
    detail = _int_param(params, "type", 1)
    _raise_injected_fault(state, account_id)
    account = state.account(account_id)
    if account is None:
        raise ApiError(Code.ACCESS_DENIED)
    plan = {
        "flags": 0, "blockBalance": 0, "denyBalance": 0, "minDaysCounter": 0,
        "historyPeriod": 0, "currencyFormat": "%.2f RUB",
        "services": {
            "avl_unit": {"type": 1, "usage": account.units, "maxUsage": -1,
                         "cost": "", "interval": 0},
        },
    }
    data = {
        "parentAccountName": session.user.name,
        "parentAccountId": session.user.account_id,
        "parentEnabled": 1,
        "plan": "Emulator plan",
        "enabled": 1,
        "flags": 0,
        "created": 0,
        "balance": "0.00 RUB",
        "daysCounter": 0,
        "dealerRights": 0,
        "subPlans": [],
    }
    if detail & 2:
        data["settings"] = {"balance": 0.0, "plan": plan, "personal": {"services": {}},
                            "combined": plan}
    return data


def batch(state: EmulatorState, session: Session, params: Any) -> list:
    """``core/batch``: run each ``{"svc", "params"}``; errors become ``{"error": N}``.

    Accepts the bare list and the ``{"params": [...], "flags": N}`` form.  With
    flag 1 the first error stops the batch and the rest answer error 10, as
    documented.
    """
    flags = 0
    if isinstance(params, dict):
        flags = _int_param(params, "flags", 0)
        params = params.get("params")
    if not isinstance(params, list):
        raise ApiError(Code.INVALID_INPUT, "core/batch needs a list of {svc, params}")
    results: list = []
    stopped = False
    for sub in params:
        if stopped:
            results.append({"error": int(Code.CONCURRENT_LIMIT)})
            continue
        try:
            results.append(_batch_item(state, session, sub))
        except ApiError as exc:
            results.append(exc.envelope())
            stopped = bool(flags & BATCH_STOP_ON_ERROR)
    return results


def _batch_item(state: EmulatorState, session: Session, sub: Any) -> Any:
    if not isinstance(sub, dict) or not isinstance(sub.get("svc"), str):
        raise ApiError(Code.INVALID_INPUT, "batch item must be {svc, params}")
    if sub["svc"] == "core/batch":
        raise ApiError(Code.INVALID_INPUT, "core/batch cannot be nested")
    return call(state, session, sub["svc"], sub.get("params", {}))


SESSION_SERVICES: dict[str, Callable[[EmulatorState, Session, Any], Any]] = {
    "core/search_items": search_items,
    "account/get_account_data": get_account_data,
    "core/batch": batch,
    "core/logout": logout,
}


def call(state: EmulatorState, session: Session, svc: str, params: Any) -> Any:
    """Run the session service ``svc`` (everything except ``token/login``)."""
    service = SESSION_SERVICES.get(svc)
    if service is None:
        raise ApiError(Code.INVALID_SERVICE, f"unknown service '{svc}'")
    if params == [] and svc != "core/batch":
        params = {}  # python-wialon sends "[]" for a call without arguments
    if svc != "core/batch" and not isinstance(params, dict):
        raise ApiError(Code.INVALID_INPUT, "'params' must be a JSON object")
    return service(state, session, params)
