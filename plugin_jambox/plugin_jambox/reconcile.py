"""Compare the SMS with the billing, both ways, and repair the drift (`abonent jambox sync
[--fix] [--account ID]`, the account card's "synchronise now", the nightly job).

Per JAMBOX account:

- `missing_customer` / `unlinked_customer` / `customer_link`: the contract is no SMS
  customer, one with its external id is there but not linked, or the linked one is gone
  or has another external id (linked afresh);
- `missing_account` / `unlinked_account`: no SMS TV account, or an unclaimed one at the
  installation address is there but not linked;
- `address`: the installation address differs;
- `lock`: the debt-collection lock differs from what the account's blocks want;
- `missing_service`, `inactive_service`: a live package subscription with no SMS service,
  or one the SMS holds inactive while the billing's is active;
- `extra_service`: a running SMS service (not a gift) no live subscription claims
  (repaired by terminating it at the end of the billing period);
- `delete_pending`: a trashed account's SMS account, deleted once its services ended;
- `upgraded`: a subscription whose SMS service is another package after an upgrade made
  in the SMS functions (reported: the operator gives the account that package's service).

Without `--account`, SMS customers whose external id is no contract of ours are listed
(`unknown_customer`), reported only. The SMS is read afresh (never from the cache).
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import select

from core import Account, Agent, Rejected, ReconcileReport, job_outcome
from plugin_jambox import store
from plugin_jambox.agent import CODE
from plugin_jambox.client import JamboxError, JamboxFault
from plugin_jambox.connections import client_for
from plugin_jambox.operations import TvAccount, agent_settings, billing_subscriptions, load_facts

REPORTED_ONLY = ("unknown_customer", "delete_pending", "upgraded")
GIFT = "gift"


def unfixed(report: ReconcileReport) -> list[dict[str, Any]]:
    return [item for item in report.drift
            if not item["fixed"] and item["kind"] not in REPORTED_ONLY]


def outcome(report: ReconcileReport) -> str:
    """failed when nothing could be checked because of errors, partial when errors or
    unfixed drift remain, else ok."""
    if report.errors and not report.checked:
        return "failed"
    return job_outcome(len(report.errors) + len(unfixed(report)), report.checked)


def counts(report: ReconcileReport) -> str:
    fixed = sum(1 for item in report.drift if item["fixed"])
    return (f"{report.checked} account(s) checked, {len(report.drift)} drift, {fixed} fixed, "
            f"{len(report.errors)} error(s)")


def summary(report: ReconcileReport) -> str:
    return f"{counts(report)}: {report.errors[0]}" if report.errors else counts(report)


class _Run:
    def __init__(self, ctx, fix: bool):
        self.ctx, self.fix = ctx, fix
        self.report = ReconcileReport(plugin=ctx.name)

    def drift(self, account_id: int | None, kind: str, detail: str,
              repair: Callable[[], Any] | None = None) -> bool:
        fixed = False
        if self.fix and repair is not None:
            try:
                repair()
                fixed = True
            except (JamboxError, Rejected) as exc:
                self.report.errors.append(f"account {account_id}: {kind}: {exc}")
        self.report.add(account_id, kind, detail, fixed)
        return fixed

    def account(self, tv: TvAccount, wanted: list[dict[str, Any]]) -> None:
        facts = tv.facts
        if not self._customer(tv) or not self._tv_account(tv):
            return
        current = tv.sms_account()
        if facts.trashed:
            self._trashed(tv, current)
            return
        if facts.link_data.get("delete_pending") and self.fix:  # restored from the trash
            with self.ctx.session() as session:
                store.link_account(session, facts.id, facts.tv_account_id, {})
        address = facts.address
        if any(str(current.get(k, "")) != v for k, v in address.items()):
            self.drift(facts.id, "address", f"SMS account {facts.tv_account_id} is at "
                       f"{_where(current)}, the billing's at {_where(address)}", tv.edit_account)
        locked = not int(current.get("acc_active", 1))
        if locked != facts.lock_wanted:
            self.drift(facts.id, "lock", f"SMS account {facts.tv_account_id} is "
                       f"{'locked' if locked else 'not locked'}, the blocks want it "
                       f"{'locked' if facts.lock_wanted else 'not locked'}", tv.set_lock)
        self._services(tv, current, wanted)

    def _customer(self, tv: TvAccount) -> bool:
        contract = tv.facts.customer.contract_id
        number = tv.customer.cust_number
        if number is not None:
            found = _customer_of(tv, number)
            external = str(found.get("cust_external_id") or "") if found else None
            if external == str(contract):
                return True
            detail = (f"the linked SMS customer {number} is gone" if found is None else
                      f"the linked SMS customer {number} has the external id "
                      f"{external or '(none)'}, not {contract}")

            def relink() -> None:
                tv.customer.cust_number = tv.facts.cust_number = None
                tv.customer.ensure(tv.facts.address)
            return self.drift(tv.facts.id, "customer_link", detail, relink)
        found = tv.customer.find()
        kind, detail = (("unlinked_customer", f"SMS customer {found['cust_number']} has the "
                         f"external id {contract} but is not linked") if found else
                        ("missing_customer", f"contract {contract} is no SMS customer"))
        if tv.facts.trashed and found is None:
            return False
        return self.drift(tv.facts.id, kind, detail, lambda: tv.customer.ensure(tv.facts.address))

    def _tv_account(self, tv: TvAccount) -> bool:
        facts = tv.facts
        if facts.tv_account_id is not None and tv.sms_account() is not None:
            return True
        if facts.tv_account_id is not None:
            detail = f"SMS account {facts.tv_account_id} is gone"

            def repair() -> None:
                with self.ctx.session() as session:
                    store.unlink_account(session, facts.id)
                facts.tv_account_id = None
                tv.ensure_account()
        else:
            detail = f"no SMS account at {_where(facts.address)}"
            repair = tv.ensure_account
        if facts.trashed:
            return False
        return self.drift(facts.id, "missing_account", detail, repair)

    def _trashed(self, tv: TvAccount, current: dict[str, Any]) -> None:
        """A trashed account's SMS account: its running services terminated, the account
        deleted once they have ended (until then it stays, reported as pending)."""
        facts = tv.facts
        running = [int(s["subscription_id"]) for s in current["subscriptions"]
                   if not str(s.get("sub_valid_to") or "")]
        if running:
            self.drift(facts.id, "extra_service", f"the account is in the trash, "
                       f"{len(running)} SMS service(s) not terminated",
                       lambda: [tv.terminate(None, sms_id) for sms_id in running])
        tv_id = facts.tv_account_id
        if self.fix:
            try:
                if tv.delete_account():
                    self.report.add(facts.id, "trashed_account",
                                    f"SMS account {tv_id} deleted", True)
                    return
            except JamboxError as exc:
                self.report.errors.append(f"account {facts.id}: trashed_account: {exc}")
        self.report.add(facts.id, "delete_pending",
                        f"SMS account {tv_id} is deleted once its services end")

    def _services(self, tv: TvAccount, current: dict[str, Any],
                  wanted: list[dict[str, Any]]) -> None:
        facts = tv.facts
        services = {int(s["subscription_id"]): s for s in current["subscriptions"]}
        with self.ctx.session() as session:
            links = store.subscription_links(session, [facts.id])
        claimed: set[int] = set()
        for subscription in wanted:
            link = links.get(subscription["id"])
            found = services.get(int(link.external_id)) if link is not None else None
            label = f"{subscription['service_name']} (package {subscription['external_code']})"
            if found is None:
                self.drift(facts.id, "missing_service", label,
                           lambda s=subscription: self._give(tv, s))
                continue
            claimed.add(int(found["subscription_id"]))
            held = int(found.get("package_id") or 0)
            if held != int(subscription["external_code"]):
                self.report.add(facts.id, "upgraded", f"{label} is package {held} "
                                f"({found.get('pkg_name', '')}) in the SMS after an upgrade: "
                                f"give the account that package's service")
            if subscription["state"] == "active" and not int(found.get("sub_active", 1)):
                self.drift(facts.id, "inactive_service", f"{label} is inactive in the SMS",
                           lambda s=subscription: tv.activate(s))
        for sms_id, service in services.items():
            if (sms_id in claimed or str(service.get("sub_valid_to") or "")
                    or service.get("pkg_class") == GIFT):
                continue
            self.drift(facts.id, "extra_service",
                       f"SMS service {sms_id} ({service.get('pkg_name', '')}) has no live "
                       f"billing subscription", lambda i=sms_id: tv.terminate(None, i))

    def _give(self, tv: TvAccount, subscription: dict[str, Any]) -> None:
        with self.ctx.session() as session:
            store.unlink_subscription(session, subscription["id"])
        tv.subscribe(subscription)


def _customer_of(tv: TvAccount, number: int) -> dict[str, Any] | None:
    """The SMS customer of this number, None when the SMS knows no such customer."""
    try:
        found = tv.client.cust_list(number)
    except JamboxFault:
        return None
    return found[0] if found else None


def _where(address: dict[str, Any]) -> str:
    parts = [address.get(f"cust_i_{k}", "") for k in ("street", "home_nr", "flat",
                                                     "postal_code", "city")]
    return " ".join(str(p) for p in parts if p) or "(no address)"


def _accounts(ctx, account_id: int | None, agent_id: int | None) -> list[tuple[TvAccount, list]]:
    """The accounts to check: the JAMBOX ones (live, and trashed ones still linked), and
    those moved to another agent whose SMS account waits to be deleted (reached through
    the agent they left, kept in the link)."""
    with ctx.session() as session:
        query = (select(Account).join(Agent, Agent.id == Account.agent_id)
                 .where(Agent.type == CODE).order_by(Account.id))
        if account_id is not None:
            query = query.where(Account.id == account_id)
        if agent_id is not None:
            query = query.where(Agent.id == agent_id)
        links = store.account_links(session)
        found = []
        settings_of: dict[int, Any] = {}

        def settings(agent: int):
            if agent not in settings_of:
                settings_of[agent] = agent_settings(session, agent)
            return settings_of[agent]

        for account in session.scalars(query):
            if account.trashed and account.id not in links:
                continue
            found.append((load_facts(session, account, settings(account.agent_id)),
                          settings(account.agent_id), billing_subscriptions(session, account.id)))
        seen = {facts.id for facts, _, _ in found}
        for local, link in links.items():
            left = (link.data or {}).get("agent_id")
            if (local in seen or not (link.data or {}).get("delete_pending") or left is None
                    or account_id not in (None, local) or agent_id not in (None, left)):
                continue
            account = session.get(Account, local)
            facts = load_facts(session, account, settings(left))
            facts.trashed = True  # gone from this agent: its SMS account is to be deleted
            found.append((facts, settings(left), []))
    return [(TvAccount(ctx, facts, each), wanted) for facts, each, wanted in found]


def reconcile(ctx, account_id: int | None = None, fix: bool = False,
              agent_id: int | None = None) -> ReconcileReport | None:
    """Compare one account (or those of one agent, or all) with the SMS; None when
    `account_id` is no JAMBOX account (another plugin's business)."""
    if account_id is not None:
        with ctx.session() as session:
            account = session.get(Account, account_id)
            if account is None or (account.agent.type != CODE
                                   and store.tv_account(session, account_id)[0] is None):
                return None
    run = _Run(ctx, fix)
    accounts = _accounts(ctx, account_id, agent_id)
    for tv, wanted in accounts:
        try:
            run.account(tv, wanted)
            run.report.checked += 1
        except JamboxError as exc:
            run.report.errors.append(f"account {tv.facts.id}: {exc}")
    if account_id is None:
        _strangers(ctx, run, agent_id)
    return run.report


def _strangers(ctx, run: _Run, agent_id: int | None) -> None:
    """SMS customers whose external id is no contract of ours, per agent."""
    with ctx.session() as session:
        agents = [a for a in session.scalars(select(Agent).where(Agent.type == CODE))
                  if agent_id in (None, a.id)]
        settings = [agent_settings(session, a.id) for a in agents]
        linked = set(store.customer_links(session).values())
    for each in settings:
        client = client_for(each)
        try:
            customers = client.cust_list("")
        except JamboxError as exc:
            run.report.errors.append(f"agent {each.agent_id}: cannot read the SMS: {exc}")
            continue
        for customer in customers:
            if int(customer["cust_number"]) not in linked:
                run.report.add(None, "unknown_customer",
                               f"SMS customer {customer['cust_number']} "
                               f"({customer.get('cust_name', '')} "
                               f"{customer.get('cust_surname', '')}, external id "
                               f"{customer.get('cust_external_id') or '-'}) is linked to no "
                               f"contract")
