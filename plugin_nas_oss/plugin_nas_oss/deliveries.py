"""Billing → NAS: each notification the outbox delivers, turned into Carbon Billing's OSS
commands (the seed's table) and sent in order (plugin_nas_oss.commands says how, and
what a silent or refusing NAS makes of the delivery).

| billing event | commands |
|---|---|
| account created / restored from the trash | user_add (then user_drop if it is blocked) |
| account to the trash | user_del |
| a key parameter changed (NAS, IP, VLAN, port) | user_del with the OLD values, user_del with the new, then user_add |
| account leaves "active" (any block) | user_drop; also user_disconnect when it was switched off ("disabled") |
| block by a manager set / lifted | b_admin / u_b_admin |
| voluntary block set / lifted | own_disabled on set; b_sys / u_b_sys when it has no end date |
| account back to "active" | user_accept (after u_b_admin / u_b_sys) |
| a service activated / deactivated (by hand, or by a block lifted / set) | usluga_activated / usluga_deactivated with its activate / deactivate string |
| a service assigned active / removed or expired, on an active account | usluga_activated / usluga_deactivated |

States are read from the event (old_state / new_state), never from its name: a second
block (admin → admin) sends its source's command but no second user_drop; lifting one of
two blocks sends user_accept only when the account is active again (docs/hooks.md).
A service without an activate (deactivate) string sends no usluga_* command: the NAS has
nothing to apply for it. A key-parameter change calls user_del twice, as the seed's table
says: first with the account's old values (on its old NAS), then with the new ones (on the
new NAS: whatever it holds under those values goes too), then user_add.
"""
from __future__ import annotations

from typing import Any

from core import AccountState
from plugin_nas_oss.agent import CODE, KEY_FIELDS, account_values
from plugin_nas_oss.commands import Step, run_steps

ACTIVE = AccountState.ACTIVE


def _step(command: str, account: dict[str, Any], **extra: Any) -> Step:
    return Step(command, account["agent_id"], account["id"], {**account_values(account), **extra})


def _deliver(event, ctx, steps: list[Step]) -> None:
    if steps:
        run_steps(ctx, steps, event.idempotency_key, facts=event.facts)


def _add(account: dict[str, Any]) -> list[Step]:
    if account["agent_type"] != CODE or account["trashed"]:
        return []
    steps = [_step("user_add", account)]
    if account["state"] != ACTIVE:
        steps.append(_step("user_drop", account))
    return steps


def account_created(event, ctx) -> None:
    _deliver(event, ctx, _add(event.payload["account"]))


def account_restored(event, ctx) -> None:
    _deliver(event, ctx, _add(event.payload["account"]))


def account_trashed(event, ctx) -> None:
    account = event.payload["account"]
    if account["agent_type"] == CODE:
        _deliver(event, ctx, [_step("user_del", account)])


def account_changed(event, ctx) -> None:
    """A key parameter changed: user_del on the NAS with the account as it was, user_del
    with it as it is (the NAS may be another one), then user_add."""
    account, old = event.payload["account"], event.payload["old"]
    before = {**account, **{key: old[key] for key in ("login", "agent_id", "agent_type", "fields")
                            if key in old}}
    fields_before, fields_now = before["fields"] or {}, account["fields"] or {}
    if "agent_id" not in old and all(fields_before.get(k) == fields_now.get(k)
                                     for k in KEY_FIELDS):
        return
    steps = [_step("user_del", snapshot) for snapshot in (before, account)
             if snapshot["agent_type"] == CODE and not snapshot["trashed"]]
    _deliver(event, ctx, steps + _add(account))


def block_set(event, ctx) -> None:
    account, block = event.payload["account"], event.payload["block"]
    steps = []
    if event.payload["old_state"] == ACTIVE and event.payload["new_state"] != ACTIVE:
        steps.append(_step("user_drop", account))
    source = block["source"]
    if source == AccountState.DISABLED:
        steps.append(_step("user_disconnect", account))
    elif source == AccountState.ADMIN:
        steps.append(_step("b_admin", account))
    elif source == AccountState.VOLUNTARY:
        steps.append(_step("own_disabled", account))
        if block["end_at"] is None:
            steps.append(_step("b_sys", account))
    _deliver(event, ctx, steps)


def block_lifted(event, ctx) -> None:
    account, block = event.payload["account"], event.payload["block"]
    steps = []
    if block["source"] == AccountState.ADMIN:
        steps.append(_step("u_b_admin", account))
    elif block["source"] == AccountState.VOLUNTARY and block["end_at"] is None:
        steps.append(_step("u_b_sys", account))
    if event.payload["new_state"] == ACTIVE and event.payload["old_state"] != ACTIVE:
        steps.append(_step("user_accept", account))
    _deliver(event, ctx, steps)


def _service(event, ctx, command: str) -> None:
    account, subscription = event.payload["account"], event.payload["subscription"]
    key = "activate_string" if command == "usluga_activated" else "deactivate_string"
    if not subscription.get(key):
        return
    _deliver(event, ctx, [_step(command, account, service=subscription["service_name"],
                                activate_string=subscription.get("activate_string"),
                                deactivate_string=subscription.get("deactivate_string"))])


def subscription_activated(event, ctx) -> None:
    _service(event, ctx, "usluga_activated")


def subscription_deactivated(event, ctx) -> None:
    _service(event, ctx, "usluga_deactivated")


def subscription_assigned(event, ctx) -> None:
    if (event.payload["subscription"]["state"] == "active"
            and event.payload["account"]["state"] == ACTIVE):
        _service(event, ctx, "usluga_activated")


def subscription_ended(event, ctx) -> None:
    """Removed by a manager or a tariff change, or expired: off the NAS when it was on."""
    if event.payload["account"]["state"] == ACTIVE:
        _service(event, ctx, "usluga_deactivated")
