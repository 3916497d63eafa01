"""Balances to the customers' TV panel: `setCustomerPaymentInfo` as a scheduled job (SGT's
manual, 4.4; the module's `tvcustbalanceexport.php`) and `abonent jambox balances`.

Each enabled JAMBOX agent is sent, in batches of `balance_batch`, the balance of every
contract linked to an SMS customer (kind "customer") that has an account on that agent:
`setCustomerPaymentInfo(today, {cust_number: {"cust_total_balance": balance}})`, today in
the operator's zone, the balance as the number SGT's module sends (a double).

The SMS refuses a whole call when one customer of it is unknown there (a customer deleted
in the SMS, a stale link): that batch is then sent again one customer at a time, so the
others still get their balance and the run names the refused ones. A batch without an
answer (timeout, connection, HTTP error) ends that agent's run: what was not sent is
counted as failed (the push is safe to repeat, so the next run simply sends it again).
The outcome counts customers: "ok", "partial" (some refused or not sent) or "failed".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select

from core import (Account, Contract, ExternalLink, Field, JobSpec, Runtime, ValidationError,
                  job_outcome, operator_today)
from plugin_jambox.agent import AgentSettings
from plugin_jambox.billing_import import jambox_agents
from plugin_jambox.client import JamboxClient, JamboxFault, JamboxUnavailable
from plugin_jambox.connections import client_for
from plugin_jambox.store import CUSTOMER, PLUGIN

JOB_ID = "jambox-balance-export"
METHOD = "setCustomerPaymentInfo"

SCHEMA = [
    Field("balance_time", "time", default="05:30",
          help="time of day (operator's zone) the balances are sent to the TV panel"),
    Field("balance_batch", "int", default=500, min=1, max=10000,
          help="customers sent in one setCustomerPaymentInfo call"),
]


@dataclass
class BalanceReport:
    customers: int = 0
    sent: int = 0
    unsent: int = 0
    failed: list[str] = field(default_factory=list)

    def fail(self, count: int, reason: str) -> None:
        self.unsent += count
        self.failed.append(reason)

    @property
    def outcome(self) -> str:
        return job_outcome(self.unsent, self.sent)

    def summary(self) -> str:
        text = f"balances to the TV panel: {self.sent} of {self.customers} customer(s) sent"
        if self.failed:
            text += f"; {self.unsent} not: {self.failed[0]}"
        return text

    def result(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "summary": self.summary(), "customers": self.customers,
                "sent": self.sent, "unsent": self.unsent, "failed": self.failed}


def balances(session, agent_id: int) -> list[tuple[str, Decimal]]:
    """(SMS customer number, balance) of the linked contracts with an account on the
    agent, in customer number order."""
    on_agent = exists().where(Account.contract_id == Contract.id, Account.agent_id == agent_id)
    return [(number, balance) for number, balance in session.execute(
        select(ExternalLink.external_id, Contract.balance)
        .join(Contract, Contract.id == ExternalLink.local_id)
        .where(ExternalLink.plugin == PLUGIN, ExternalLink.kind == CUSTOMER, on_agent)
        .order_by(ExternalLink.external_id))]


def _send(client: JamboxClient, day: str, batch: list[tuple[str, Decimal]]) -> None:
    client.call(METHOD, day, {number: {"cust_total_balance": float(balance)}
                              for number, balance in batch})


def _push_batch(client: JamboxClient, day: str, batch: list[tuple[str, Decimal]],
                report: BalanceReport) -> None:
    """Send one batch; refused as a whole, send its customers one by one."""
    try:
        _send(client, day, batch)
        report.sent += len(batch)
        return
    except JamboxFault:
        if len(batch) == 1:
            raise
    for one in batch:
        try:
            _send(client, day, [one])
            report.sent += 1
        except JamboxFault as fault:
            report.fail(1, f"customer {one[0]}: {fault.message}")


def push_balances(runtime: Runtime, agent_id: int | None = None) -> BalanceReport:
    """Send every linked customer's balance to its agent's SMS (see the module)."""
    size = runtime.plugin_configs.get(PLUGIN, {}).get("balance_batch", 500)
    report = BalanceReport()
    with runtime.session(actor=f"plugin:{PLUGIN}") as session:
        day = operator_today(session).isoformat()
        work = [(agent.id, agent.name, agent.settings, balances(session, agent.id))
                for agent in jambox_agents(session, agent_id)]
    for agent_id_, name, raw, rows in work:
        report.customers += len(rows)
        try:
            client = client_for(AgentSettings.of(agent_id_, raw))
        except ValidationError as exc:
            report.fail(len(rows), f"agent {name}: {exc}")
            continue
        for start in range(0, len(rows), size):
            batch = rows[start:start + size]
            try:
                _push_batch(client, day, batch, report)
            except JamboxFault as fault:
                report.fail(1, f"customer {batch[0][0]}: {fault.message}")
            except JamboxUnavailable as exc:
                report.fail(len(rows) - start, f"agent {name}: {exc}")
                break
    return report


def balance_job(ctx) -> dict[str, Any]:
    return push_balances(ctx.runtime).result()


def job(runtime: Runtime) -> JobSpec:
    at = runtime.plugin_configs[PLUGIN]["balance_time"]
    return JobSpec(id=JOB_ID, func=balance_job, cron={"hour": at.hour, "minute": at.minute},
                   description="JAMBOX: send each customer's balance to the TV panel")
