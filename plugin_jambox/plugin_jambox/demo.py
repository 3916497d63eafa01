"""The JAMBOX part of the demo (`make run`).

`load` (from `abonent demo load`) adds a "JAMBOX" agent pointed at the emulated SMS on
127.0.0.1:8126 (login and password `demo`), one service per SGT package (external code =
package id, the gift packages left out: SGT gives them), two TV tariffs and four TV
accounts with installation addresses.

`start` (from `abonent serve --demo`) runs the emulator with its own demo customers (boxes
in stock, subnets, two SMS customers not yet linked to a contract, for `custidupdate` and
the customer list), forgets the links to the previous run's SMS (the emulator keeps
nothing between runs) and reconciles the demo agent's accounts with it before the outbox
worker starts: customers, TV accounts and packages are created afresh.
"""
from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import delete, select

from core import (Agent, ExternalLink, Service, Tariff, TariffService, assign_service,
                  create_account, create_contract, create_subscriber, record_payment)
from plugin_jambox import billing_demo, store
from plugin_jambox.agent import CODE
from plugin_jambox.emulator import JamboxEmulator
from plugin_jambox.emulator.catalog import DEFAULT_PACKAGES, GIFT
from plugin_jambox.reconcile import reconcile

log = logging.getLogger("abonent.jambox.demo")

HOST, PORT = "127.0.0.1", 8126
LOGIN = PASSWORD = "demo"
AGENT_NAME = "JAMBOX"

#: tariff name → (base package, add-on packages)
TARIFFS = {
    "JAMBOX Wielotematyczny": (101, (201, 202)),
    "JAMBOX Rodzinny HD": (102, (201, 202, 203)),
}
#: (name, login, tariff, installation address, add-ons, payment)
ACCOUNTS = (
    ("Piotr Wiśniewski", "tv-wisniewski", "JAMBOX Wielotematyczny",
     ("Kraków", "Floriańska", "12", "4", "31-019"), (201,), "200.00"),
    ("Katarzyna Wójcik", "tv-wojcik", "JAMBOX Rodzinny HD",
     ("Kraków", "Karmelicka", "3", "", "31-128"), (), "120.00"),
    ("Tomasz Kamiński", "tv-kaminski", "JAMBOX Rodzinny HD",
     ("Wieliczka", "Słowackiego", "8", "1", "32-020"), (203,), "0.00"),
    ("Agnieszka Lewandowska", "tv-lewandowska", "JAMBOX Wielotematyczny",
     ("Skawina", "Rynek", "1", "10", "32-050"), (), "80.00"),
)


def load(session, runtime) -> None:
    """Add the demo agent, catalog and accounts (once: nothing if the agent exists)."""
    if session.scalar(select(Agent.id).where(Agent.type == CODE, Agent.name == AGENT_NAME)):
        return
    services = {p.package_id: Service(name=f"JAMBOX: {p.pkg_name}", kind="periodic",
                                      method="monthly", price=Decimal(p.gross),
                                      agent_type=CODE, external_code=str(p.package_id))
                for p in DEFAULT_PACKAGES if p.pkg_class != GIFT}
    session.add_all(services.values())
    tariffs = {}
    for name, (base, addons) in TARIFFS.items():
        tariff = Tariff(name=name)
        tariff.items = ([TariffService(service=services[base], is_base=True)]
                        + [TariffService(service=services[p]) for p in addons])
        session.add(tariff)
        tariffs[name] = tariff
    agent = Agent(type=CODE, name=AGENT_NAME,
                  settings={"sms_url": f"http://{HOST}:{PORT}/sms/xmlrpc", "login": LOGIN,
                            "password": PASSWORD})
    session.add(agent)
    session.flush()
    for number, (name, login, tariff, where, addons, paid) in enumerate(ACCOUNTS, 1):
        subscriber = create_subscriber(session, name=name, phones=[f"60010{number:04d}"])
        contract = create_contract(session, subscriber.id)
        if Decimal(paid):
            record_payment(session, contract.id, paid, source="demo-bank",
                           external_id=f"jambox-demo-{number}")
        city, street, home, flat, postal = where
        account = create_account(session, contract.id, login=login, agent_id=agent.id,
                                 tariff_id=tariffs[tariff].id,
                                 fields={"jambox_city": city, "jambox_street": street,
                                         "jambox_home_nr": home, "jambox_flat": flat,
                                         "jambox_postal_code": postal})
        for package in addons:
            assign_service(session, account.id, services[package].id)


def forget_links(session) -> None:
    """Drop the links to an SMS that is gone (the emulator of the previous run): customers,
    TV accounts and services; the "suspend TV invoicing" switches stay."""
    session.execute(delete(ExternalLink).where(
        ExternalLink.plugin == store.PLUGIN,
        ExternalLink.kind.in_((store.CUSTOMER, store.ACCOUNT, store.SUBSCRIPTION))))


def start(runtime) -> list[JamboxEmulator]:
    """Start the emulated SMS in demo mode and bring it in line with the billing."""
    emulator = JamboxEmulator(LOGIN, PASSWORD, HOST, PORT)
    emulator.sms.seed_demo()
    emulator.start()
    ctx = runtime.context(store.PLUGIN)
    with ctx.session() as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.type == CODE,
                                                         Agent.name == AGENT_NAME))
        if agent_id is not None:
            forget_links(session)
    if agent_id is not None:
        report = reconcile(ctx, fix=True, agent_id=agent_id)
        log.info("JAMBOX SMS emulator at %s: %d drift item(s) fixed, %d error(s)", emulator.url,
                 sum(1 for item in report.drift if item["fixed"]), len(report.errors))
        billing_demo.start(ctx, emulator.sms)
    return [emulator]
