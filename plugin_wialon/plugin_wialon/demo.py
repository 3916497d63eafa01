"""The Wialon part of the demo (`make run`): Carbon Billing's worked example, live.

`load` (from `abonent demo load`) adds a "Wialon" agent pointed at the emulator on
127.0.0.1:8125 with its demo token, the sensor type sensor_1, the counter service "GPS
tracking, per object" at 3.00 per pcs daily, a tariff holding it as its base service,
and a few accounts whose ext_ids the demo emulator knows — 777 with 6 objects among them.

`start` (from `abonent serve --demo`) runs the emulator with its demo seed, then the
agent's daily job once (recorded like any run, on the admin's jobs page), so the day's
charges are on the account cards at once: 6 × 3.00 = 18.00 for ext_id 777. A second
start the same day skips what is already charged.
"""
from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import select

from core import (Agent, SensorType, Service, Tariff, TariffService, create_account,
                  create_contract, create_subscriber, record_payment)
from plugin_wialon.agent import CODE, DEFAULT_SOURCE
from plugin_wialon.config import PLUGIN
from plugin_wialon.emulator import DEMO_TOKEN, DEMO_USER, WialonEmulator, load_demo
from plugin_wialon.jobs import job_id
from plugin_wialon.selection import PCS

log = logging.getLogger("abonent.wialon.demo")

HOST, PORT = "127.0.0.1", 8125
AGENT_NAME = "Wialon"
SENSOR = "sensor_1"
SERVICE = "GPS tracking, per object"
PRICE_PER_OBJECT = Decimal("3.00")
TARIFF = "GPS tracking"
#: (subscriber, login, ext_id, payment): ext_ids of the emulator's demo seed
ACCOUNTS = (
    ("OOO Carbon Logistics", "wialon-777", 777, "500.00"),
    ("IP Sidorov, taxi", "wialon-1001", 1001, "300.00"),
    ("OOO Gruzovichok", "wialon-1002", 1002, "1000.00"),
    ("Petrov farm", "wialon-1003", 1003, "200.00"),
)


def _sensor_type(session) -> SensorType:
    sensor = session.scalars(select(SensorType).where(SensorType.name == SENSOR)).first()
    if sensor is None:
        sensor = SensorType(name=SENSOR)
        session.add(sensor)
        session.flush()
    return sensor


def load(session, runtime) -> None:
    """Add the demo agent, catalog and accounts (once: nothing if the agent exists)."""
    if session.scalar(select(Agent.id).where(Agent.type == CODE, Agent.name == AGENT_NAME)):
        return
    service = Service(name=SERVICE, kind="counter", method="daily", price=Decimal(0),
                      price_per_unit=PRICE_PER_OBJECT, unit_id=PCS,
                      sensor_type_id=_sensor_type(session).id, agent_type=CODE)
    tariff = Tariff(name=TARIFF, description="Carbon Billing's example: 3.00 a day per object "
                                             "tracked in Wialon")
    tariff.items = [TariffService(service=service, is_base=True)]
    agent = Agent(type=CODE, name=AGENT_NAME,
                  settings={"api_url": f"http://{HOST}:{PORT}", "token": DEMO_TOKEN,
                            "cdr_source": DEFAULT_SOURCE, "run_time": "03:30",
                            "count_method": "search"})
    session.add_all([service, tariff, agent])
    session.flush()
    for name, login, ext_id, paid in ACCOUNTS:
        subscriber = create_subscriber(session, name=name, kind="company")
        contract = create_contract(session, subscriber.id)
        record_payment(session, contract.id, paid, source="demo-bank",
                       external_id=f"wialon-demo-{ext_id}")
        create_account(session, contract.id, login=login, agent_id=agent.id,
                       tariff_id=tariff.id, fields={"ext_id": ext_id})


def start(runtime) -> list[WialonEmulator]:
    """Start the demo emulator, then run the demo agent's daily job once."""
    emulator = WialonEmulator({DEMO_TOKEN: DEMO_USER}, host=HOST, port=PORT)
    load_demo(emulator.state)
    emulator.start()
    with runtime.session() as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.type == CODE,
                                                         Agent.name == AGENT_NAME))
    if agent_id is not None:
        outcome = runtime.context(PLUGIN).run_job(job_id(agent_id), trigger="demo")
        log.info("Wialon emulator at %s; the daily job %s ran: %s (its summary is on the "
                 "admin's jobs page)", emulator.url, job_id(agent_id), outcome["status"])
    return [emulator]
