"""The 24h TV part of the demo (`make run`).

`load` (from `abonent demo load`) adds a "24h TV" agent pointed at the emulator on
127.0.0.1:8124, one service per emulator packet (external code = packet id), three TV
tariffs (a base packet and its add-ons each) and six TV accounts with phone logins. Three
of them are the emulator's own demo subscribers: the billing finds them already on the
platform and links them instead of creating them again.

`start` (from `abonent serve --demo`) runs the emulator with its demo subscribers and its
callbacks pointed at the billing, then reconciles the demo agent's accounts with it
before the outbox worker starts: the emulator keeps nothing between runs, so a second
`make run` finds the platform empty and fills it again.
"""
from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import select

from core import (Agent, Service, Tariff, TariffService, assign_service, create_account,
                  create_contract, create_subscriber, record_payment)
from plugin_tv24.agent import CODE
from plugin_tv24.emulator import DEFAULT_PACKETS, Tv24Emulator
from plugin_tv24.reconcile import reconcile
from plugin_tv24.store import PLUGIN

log = logging.getLogger("abonent.tv24.demo")

HOST, PORT = "127.0.0.1", 8124
TOKEN = "demo-token"
SECRET = "demo-secret"
AGENT_NAME = "24h TV"

#: tariff name → (base packet, add-on packets, device limit)
TARIFFS = {
    "24h TV Лайт": (1, (11, 12), 3),
    "24h TV Оптимальный": (2, (10, 11, 12, 13), 5),
    "24h TV Премиум": (3, (10, 12, 13), 5),
}
#: (name, login, tariff, extra fields, add-on packets, payment)
ACCOUNTS = (
    ("Иван Петров", "79001234567", "24h TV Оптимальный", {}, (10,), "1500.00"),
    ("Мария Соколова", "79007654321", "24h TV Лайт", {}, (), "500.00"),
    ("Олег Кузнецов", "oleg.k", "24h TV Премиум", {"tv24_username": "79161112233"}, (), "2000.00"),
    ("Анна Смирнова", "79005550101", "24h TV Оптимальный", {}, (12,), "1000.00"),
    ("Пётр Волков", "79005550102", "24h TV Лайт", {"tv24_devicelimit": 2}, (), "300.00"),
    ("Елена Орлова", "79005550103", "24h TV Премиум", {}, (), "0.00"),
)


def load(session, runtime) -> None:
    """Add the demo agent, catalog and accounts (once: nothing if the agent exists)."""
    if session.scalar(select(Agent.id).where(Agent.type == CODE, Agent.name == AGENT_NAME)):
        return
    services = {packet.id: Service(name=f"24h TV: {packet.name}", kind="periodic",
                                   method="monthly", price=Decimal(packet.price),
                                   agent_type=CODE, external_code=str(packet.id))
                for packet in DEFAULT_PACKETS}
    session.add_all(services.values())
    tariffs = {}
    for name, (base, addons, limit) in TARIFFS.items():
        tariff = Tariff(name=name, device_limit=limit)
        tariff.items = ([TariffService(service=services[base], is_base=True)]
                        + [TariffService(service=services[p]) for p in addons])
        session.add(tariff)
        tariffs[name] = tariff
    agent = Agent(type=CODE, name=AGENT_NAME, settings={})
    session.add(agent)
    session.flush()
    agent.settings = {"api_url": f"http://{HOST}:{PORT}", "token": TOKEN,
                      "callback_secret": SECRET, "allowed_sources": ["127.0.0.1", "::1"],
                      "default_agent_id": agent.id, "default_tar_id": tariffs["24h TV Лайт"].id}
    session.flush()
    for number, (name, login, tariff, fields, addons, paid) in enumerate(ACCOUNTS, 1):
        phone = fields.get("tv24_username", login)
        subscriber = create_subscriber(session, name=name, phones=[phone])
        contract = create_contract(session, subscriber.id)
        if Decimal(paid):
            record_payment(session, contract.id, paid, source="demo-bank",
                           external_id=f"tv24-demo-{number}")
        account = create_account(session, contract.id, login=login, agent_id=agent.id,
                                 tariff_id=tariffs[tariff].id, fields=fields)
        for packet in addons:
            assign_service(session, account.id, services[packet].id)


def start(runtime) -> list[Tv24Emulator]:
    """Start the emulator in demo mode and bring it in line with the billing."""
    server = runtime.settings.section("server")
    billing = server["host"] if server["host"] not in ("0.0.0.0", "::") else HOST
    emulator = Tv24Emulator(token=TOKEN, host=HOST, port=PORT,
                            callback_url=f"http://{billing}:{server['port']}/tv24/{SECRET}")
    emulator.state.seed_demo()
    emulator.start()
    with runtime.session() as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.type == CODE,
                                                         Agent.name == AGENT_NAME))
    if agent_id is not None:
        report = reconcile(runtime.context(PLUGIN), fix=True, agent_id=agent_id)
        log.info("24h TV emulator at %s (callbacks to %s): %d drift item(s) fixed, %d error(s)",
                 emulator.url, emulator.callbacks.api_url,
                 sum(1 for item in report.drift if item["fixed"]), len(report.errors))
    return [emulator]
