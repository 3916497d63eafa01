"""The account card's JAMBOX panel ("Konta TV" of SGT's module): the SMS customer and its
PINs, the TV account and its lock, the services (inactive ones marked), the boxes, and the
"suspend TV invoicing" switch, with links into the SMS's web interface.

The SMS is asked with the short `panel_timeout` (through the agent's read cache when it is
on); when it cannot answer, the panel still shows the billing's side and says why the
other is missing.
"""
from __future__ import annotations

from typing import Any

from core import Panel, account_state
from plugin_jambox import store
from plugin_jambox.agent import CODE, AgentSettings
from plugin_jambox.client import JamboxError
from plugin_jambox.connections import client_for
from plugin_jambox.operations import lock_wanted

ORDER_STATUS = {1: "issue the STB", 2: "awaiting installation", 3: "installed"}
SERVICES = ["SMS service", "Package", "State", "From", "Until", "Order", "Order status",
            "Billing subscription"]
BOXES = ["MAC", "Serial", "Model", "IP", "Order", "SMS"]


def web_base(sms_url: str) -> str:
    """The SMS's web interface beside its XML-RPC address (…/sms/xmlrpc → …/sms/)."""
    return sms_url[:-len("xmlrpc")] if sms_url.endswith("xmlrpc") else sms_url.rstrip("/") + "/"


def _sms_side(settings: AgentSettings, config: dict, cust_number: int | None,
              tv_id: int | None) -> tuple[dict | None, dict | None, list[dict], str | None]:
    """(customer, TV account, boxes, problem) as the SMS has them."""
    if cust_number is None:
        return None, None, [], None
    client = client_for(settings, cached=True, timeout=float(config["panel_timeout"]))
    try:
        (customer,) = client.cust_list(cust_number)
        account = next((a for a in client.cust_get_subscriptions(cust_number)
                        if tv_id is not None and int(a["account_id"]) == tv_id), None)
        boxes = client.account_get_stb(tv_id) if account is not None else []
        return customer, account, boxes, None
    except JamboxError as exc:
        return None, None, [], f"the SMS did not answer: {exc}"


def account_panel(session, account, config: dict) -> Panel | None:
    if account.agent.type != CODE:
        return None
    settings = AgentSettings.of(account.agent_id, account.agent.settings)
    cust_number = store.customer_number(session, account.contract_id)
    tv_id, data = store.tv_account(session, account.id)
    customer, tv, boxes, problem = _sms_side(settings, config, cust_number, tv_id)
    base = web_base(settings.sms_url)
    wanted = lock_wanted(session, account.id, settings)
    rows: list[tuple[str, Any]] = [
        ("JAMBOX page", f"/admin/jambox_account/?account_id={account.id}"),
        ("SMS customer", f"{cust_number} ({base}customer/show/id/{cust_number})"
         if cust_number is not None else "not exported yet"),
        ("SMS TV account", tv_id if tv_id is not None else "not created yet"),
        ("Account state", "in the trash" if account.trashed else account_state(session, account.id)),
        ("Debt-collection lock (billing)", "locked" if wanted else "not locked"),
        ("TV invoicing", "suspended" if store.invoicing_suspended(session, account.contract_id)
         else "on"),
    ]
    if data.get("delete_pending"):
        rows.append(("SMS TV account", "deleted once its services end"))
    if customer is not None:
        rows += [("PINs (VOD / master)", f"{customer.get('cust_vod_pin', '')} / "
                                         f"{customer.get('cust_master_pin', '')}")]
    if tv is not None:
        rows.append(("Debt-collection lock (SMS)",
                     "locked" if not int(tv.get("acc_active", 1)) else "not locked"))
    elif tv_id is not None and problem is None:
        rows.append(("SMS TV account", f"{tv_id} is not in the SMS (run synchronise)"))
    if problem:
        rows.append(("SMS", problem))
    links = {int(link.external_id): link.local_id
             for link in store.subscription_links(session, [account.id]).values()}
    services = [[s["subscription_id"], s.get("pkg_name", ""),
                 "active" if int(s.get("sub_active", 1)) else "inactive (greyed)",
                 s.get("sub_valid_from", ""), s.get("sub_valid_to") or "—",
                 s.get("cust_order_id", ""),
                 ORDER_STATUS.get(int(s.get("order_status_id") or 0), "—"),
                 links.get(int(s["subscription_id"]), "—")]
                for s in (tv or {}).get("subscriptions", [])]
    stbs = [[b["stb_mac"], b["stb_serial"], b["stb_model"], b.get("stb_ip", ""),
             b.get("cust_order_id", ""), f"{base}stock/tracestb/stb/{b['stb_serial']}"]
            for b in boxes]
    return Panel(title="JAMBOX", rows=rows,
                 tables=[("Services", SERVICES, services), ("Set-top boxes", BOXES, stbs)])
