"""24h TV deliveries: 10,000 accounts created with a TV tariff and blocked, delivered
through the outbox to the platform emulator (its own process, over HTTP keep-alive).

Several `abonent worker` processes share the queue, as in production on PostgreSQL, each
with its kept-alive connection to the platform. Each
account makes four deliveries (account_created → POST /v2/users,
subscription_assigned → POST …/subscriptions, block_set → POST …/pauses, and the block's
subscription_deactivated, which the plugin ignores). The limit is the same HTTP calls
made directly with the client, one after the other on one kept-alive connection, against
a freshly reset emulator: what the deliveries would cost with no outbox and no database.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import requests
from sqlalchemy import func, select

from bench.common import Figure, fresh_database, runtime_for, timed
from core.blocking import set_block
from core.models import Agent, Delivery, Operator, Service, Tariff, TariffService
from core.services.accounts import create_account
from core.services.customers import create_contract, create_subscriber
from plugin_tv24 import plugin
from plugin_tv24.client import Tv24Client

ABONENT = Path(sys.executable).parent / "abonent"
ACCOUNTS = 10_000
TOKEN = "bench-token"
CHUNK = 500
WORKERS = 4


def start_emulator() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "plugin_tv24.emulator", "--port", "0",
                                "--token", TOKEN], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    banner = process.stdout.readline()
    return process, banner.split(" at ")[1].split(" ")[0]


def setup(runtime, url: str, count: int) -> None:
    """Operator, agent, a TV tariff, then `count` accounts created and blocked."""
    with runtime.session(actor="bench") as s:
        s.add(Operator(name="Bench ISP"))
        base = Service(name="TV base", kind="periodic", method="monthly",
                       price=Decimal("299.00"), agent_type="tv24", external_code="2")
        tariff = Tariff(name="TV", device_limit=3)
        tariff.items = [TariffService(service=base, is_base=True)]
        agent = Agent(type="tv24", name="24h TV", settings={
            "api_url": url, "token": TOKEN, "callback_secret": "s",
            "allowed_sources": ["127.0.0.1"]})
        s.add_all([base, tariff, agent])
        s.flush()
        agent_id, tariff_id = agent.id, tariff.id
    chunks = [range(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]
    threads = [threading.Thread(target=_accounts, args=(runtime, chunks[n::WORKERS], agent_id,
                                                        tariff_id)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _accounts(runtime, chunks: list[range], agent_id: int, tariff_id: int) -> None:
    for chunk in chunks:
        with runtime.session(actor="bench") as s:
            for n in chunk:
                subscriber = create_subscriber(s, name=f"Bench {n}")
                contract = create_contract(s, subscriber.id, number=f"B-{n:06d}")
                account = create_account(s, contract.id, login=f"79{n:09d}",
                                         agent_id=agent_id, tariff_id=tariff_id)
                set_block(s, account.id, "admin")


def deliveries(runtime, state: str) -> int:
    with runtime.session() as s:
        return s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.plugin == "tv24", Delivery.state == state))


def deliver_all(runtime, url: str, workers: int) -> None:
    """Run `workers` worker processes (`abonent worker`, the plugin loaded from its entry
    point) until no tv24 delivery is pending."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "abonent.toml"
        config.write_text(f'database_url = "{url}"\nvar_dir = "{folder}"\n'
                          f'[outbox]\nbatch_size = 100\npoll_interval = 0.01\n')
        processes = [subprocess.Popen([str(ABONENT), "--config", str(config), "worker",
                                       "--id", f"bench-{n}"], stderr=subprocess.DEVNULL)
                     for n in range(workers)]
        try:
            while deliveries(runtime, "pending"):
                if any(p.poll() is not None for p in processes):
                    raise RuntimeError("a worker exited")
                time.sleep(0.1)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)


def direct_calls(url: str, count: int) -> float:
    """Seconds for the same HTTP calls made directly with one client."""
    requests.post(f"{url}/_emulator/reset", timeout=10).raise_for_status()
    with Tv24Client(url, TOKEN) as client, timed() as took:
        for n in range(count):
            user = client.create_user(f"79{n:09d}", f"79{n:09d}", first_name="Bench",
                                      last_name=str(n), provider_uid=str(n), is_active=True,
                                      device_limit=3)
            client.create_subscriptions(user["id"], [{"packet_id": 2, "renew": True}])
            client.pause_all(user["id"])
    return took["seconds"]


def run(scale: float) -> list[Figure]:
    count = max(10, int(ACCOUNTS * scale))
    process, url = start_emulator()
    try:
        database = fresh_database("tv24")
        runtime = runtime_for(database, plugins=[("tv24", plugin)])
        setup(runtime, url, count)
        total = deliveries(runtime, "pending")
        deliver_all(runtime, database, WORKERS)
        if deliveries(runtime, "done") != total:
            raise RuntimeError(f"{deliveries(runtime, 'dead')} dead letters")
        with runtime.session() as s:  # the outbox's own stamps: worker start-up is left out
            first, last = s.execute(select(func.min(Delivery.delivered_at),
                                           func.max(Delivery.delivered_at))).one()
        seconds = (last - first).total_seconds()
        users = requests.get(f"{url}/_emulator/state", timeout=60).json()["users"]
        if len(users) != count:
            raise RuntimeError(f"{len(users)} platform users for {count} accounts")
        raw = direct_calls(url, count)
        runtime.engine.dispose()
    finally:
        process.terminate()
        process.wait(timeout=30)
    return [Figure(f"deliveries through the outbox ({count:,} accounts created and blocked, "
                   f"{total:,} deliveries, {WORKERS} workers)", total / seconds, "deliveries/s",
                   goal="≥ 500/s", limit=total / raw,
                   limit_name="the same HTTP calls made directly with the client")]
