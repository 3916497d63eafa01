"""24h TV deliveries: 10,000 accounts created with a TV tariff and blocked (40,000
deliveries), delivered through the outbox to the platform emulator (its own process,
over HTTP keep-alive), side by side with the bare client limit.

Each account makes four deliveries (account_created → POST /v2/users,
subscription_assigned → POST …/subscriptions, block_set → POST …/pauses, and the block's
subscription_deactivated, which the plugin ignores). A worker process runs the outbox as
`abonent worker` does (`Outbox.run_forever`), the plugin's lane `CONCURRENCY` wide.
The limit is the same HTTP calls made straight from the client by `CONCURRENCY` threads
(one kept-alive client each) against a freshly reset emulator: what the deliveries would
cost with no outbox and no database.

Runs: the emulator answering at once, and adding `LATENCY` to every answer (a platform
tens of milliseconds away), with one worker process and with two; then one worker with a
second plugin whose platform hangs (every call past its timeout) next to tv24: the healthy
plugin should keep its throughput (the hanging one fills only its own lane).
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests
from sqlalchemy import exists, func, select

from bench.common import Figure, fresh_database, in_child, timed
from core import RetryLater
from core.blocking import set_block
from core.config import validate_settings
from core.models import Agent, Delivery, Operator, Service, Tariff, TariffService
from core.services.accounts import create_account
from core.services.customers import create_contract, create_subscriber
from plugin_tv24 import plugin
from plugin_tv24.client import Tv24Client
from plugins.host import build_runtime

ACCOUNTS = 10_000
TOKEN = "bench-token"
CHUNK = 500
SETUP_THREADS = 4
LATENCY = 0.05  # seconds the emulator adds to every answer in the "far away" runs
CONCURRENCY = 32  # [plugins.tv24] concurrency of the workers, threads of the bare limit
HANG_SECONDS = 2.0  # how long each call to the hanging platform takes before it gives up


class HangingPlugin:
    """A second plugin whose platform never answers: every delivery waits out a timeout,
    then asks to be retried later (as a client's read timeout does)."""

    def abonent_account_created(self, event, ctx):
        time.sleep(HANG_SECONDS)
        raise RetryLater(f"no answer within {HANG_SECONDS} s")

    abonent_subscription_assigned = abonent_block_set = abonent_account_created


def bench_runtime(url: str, hang: bool = False):
    """The runtime of the setup and of a worker: tv24 (and the hanging plugin)."""
    sections = {"tv24": {"concurrency": CONCURRENCY}}
    plugins = [("tv24", plugin)]
    if hang:
        sections["hanging"] = {"concurrency": 8}
        plugins.append(("hanging", HangingPlugin()))
    settings = validate_settings({"database_url": url, "plugins": sections,
                                  "outbox": {"batch_size": 200, "poll_interval": 0.01}},
                                 "bench")
    return build_runtime(settings, extra_plugins=plugins, load_entrypoints=False)


def start_emulator() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "plugin_tv24.emulator", "--port", "0",
                                "--token", TOKEN], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    banner = process.stdout.readline()
    return process, banner.split(" at ")[1].split(" ")[0]


def emulator_reset(url: str, latency: float) -> None:
    requests.post(f"{url}/_emulator/reset", timeout=60).raise_for_status()
    requests.post(f"{url}/_emulator/faults", json={"latency": latency},
                  timeout=10).raise_for_status()


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
    threads = [threading.Thread(target=_accounts, args=(runtime, chunks[n::SETUP_THREADS],
                                                        agent_id, tariff_id))
               for n in range(SETUP_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with runtime.engine.begin() as connection:  # as autovacuum would, before the workers
        connection.exec_driver_sql("ANALYZE delivery")
        connection.exec_driver_sql("ANALYZE event")


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


def pending(runtime) -> bool:
    with runtime.session() as s:
        return s.scalar(select(exists().where(Delivery.plugin == "tv24",
                                              Delivery.state == "pending")))


def worker_in_child(url: str, hang: bool, worker_id: str) -> dict:
    """One worker process: the outbox run as `abonent worker` runs it, until no tv24
    delivery is pending; returns the CPU seconds it spent delivering (start-up left out)."""
    from plugins.outbox import Outbox
    runtime = bench_runtime(url, hang)
    stop = threading.Event()

    def watch() -> None:  # light: it runs in the measured process (its ends are the stamps)
        while pending(runtime):
            time.sleep(0.5)
        stop.set()
    threading.Thread(target=watch, daemon=True).start()
    started = time.process_time()
    Outbox(runtime, worker_id).run_forever(stop)
    return {"cpu_seconds": time.process_time() - started}


def delivered_per_second(emulator: str, count: int, workers: int, latency: float,
                         hang: bool = False) -> tuple[int, float, float]:
    """(deliveries, deliveries/s, the workers' CPU ms a delivery) of a fresh run: `count`
    accounts set up, then `workers` worker processes deliver them to the emulator
    answering `latency` late."""
    emulator_reset(emulator, latency)
    database = fresh_database("tv24")
    runtime = bench_runtime(database, hang)
    setup(runtime, emulator, count)
    total = deliveries(runtime, "pending")
    with ThreadPoolExecutor(workers) as pool:
        spent = list(pool.map(lambda n: in_child(
            "bench.bench_tv24:worker_in_child", url=database, hang=hang, worker_id=f"w{n}"
        )["cpu_seconds"], range(workers)))
    if deliveries(runtime, "done") != total:
        raise RuntimeError(f"{deliveries(runtime, 'dead')} dead letters")
    with runtime.session() as s:  # the outbox's own stamps: worker start-up is left out
        first, last = s.execute(select(func.min(Delivery.delivered_at),
                                       func.max(Delivery.delivered_at)).where(
            Delivery.plugin == "tv24")).one()
    users = requests.get(f"{emulator}/_emulator/state", timeout=60).json()["users"]
    if len(users) != count:
        raise RuntimeError(f"{len(users)} platform users for {count} accounts")
    runtime.engine.dispose()
    return total, total / (last - first).total_seconds(), 1000 * sum(spent) / total


def direct_calls(url: str, count: int, latency: float) -> tuple[float, float]:
    """(seconds, CPU seconds) of the same HTTP calls made straight from the client by
    CONCURRENCY threads, each with its kept-alive client (this process does nothing else
    meanwhile: the emulator is a process of its own)."""
    emulator_reset(url, latency)

    def calls(numbers: range) -> None:
        with Tv24Client(url, TOKEN) as client:
            for n in numbers:
                user = client.create_user(f"79{n:09d}", f"79{n:09d}", first_name="Bench",
                                          last_name=str(n), provider_uid=str(n),
                                          is_active=True, device_limit=3)
                client.create_subscriptions(user["id"], [{"packet_id": 2, "renew": True}])
                client.pause_all(user["id"])
    threads = [threading.Thread(target=calls, args=(range(n, count, CONCURRENCY),))
               for n in range(CONCURRENCY)]
    cpu = time.process_time()
    with timed() as took:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return took["seconds"], time.process_time() - cpu


def run(scale: float) -> list[Figure]:
    count = max(40, int(ACCOUNTS * scale))
    process, url = start_emulator()
    figures = []
    try:
        for latency in (LATENCY, 0.0):
            seconds, client_cpu = direct_calls(url, count, latency)
            limit = 4 * count / seconds
            where = f"{latency * 1000:g} ms away" if latency else "answering at once"
            for workers in (1, 2):
                total, rate, cpu = delivered_per_second(url, count, workers, latency)
                goal = "≥ 500/s and ratio ≥ 0.8" if latency and workers == 1 else "ratio ≥ 0.8"
                figures.append(Figure(
                    f"24h TV {where}: {count:,} accounts created and blocked, {total:,} "
                    f"deliveries, {workers} worker process{'es' if workers > 1 else ''}, "
                    f"concurrency {CONCURRENCY}", rate, "deliveries/s", goal=goal,
                    limit=limit, limit_name=f"the same calls from the client, {CONCURRENCY} "
                                            f"threads"))
                figures.append(Figure(  # CPU a delivery: steady whatever else the machine runs
                    f"24h TV {where}, {workers} worker process{'es' if workers > 1 else ''}: "
                    f"the workers' CPU a delivery", cpu, "ms", goal="(informative)",
                    limit=1000 * client_cpu / total, limit_name="the client's CPU a delivery "
                                                                "making the same calls",
                    higher_is_better=False))
            if latency:
                alone = figures[0].value
                _, rate, _ = delivered_per_second(url, count, 1, latency, hang=True)
                figures.append(Figure(
                    f"24h TV {where}, 1 worker, next to a plugin whose platform hangs "
                    f"(every call {HANG_SECONDS:g} s, then RetryLater)", rate, "deliveries/s",
                    goal="ratio ≥ 0.9", limit=alone, limit_name="tv24 alone, 1 worker"))
    finally:
        process.terminate()
        process.wait(timeout=30)
    return figures
