"""The NAS part of the demo (`make run`).

`load` (from `abonent demo load`) adds a "NAS" agent for an emulated MikroTik (CoA on
127.0.0.1:13799), an internet service whose activate / deactivate strings are MikroTik
rates, a tariff, and three PPPoE accounts with their IPs and RADIUS passwords.

`start` (from `abonent serve --demo`) runs the emulated NAS and the billing's RADIUS
server on loopback ports (auth 11812, accounting 11813; secret "demo-radius"), then logs
the demo accounts in through it as the NAS would (Access-Request, Accounting-Start), so
each has a session: blocking one in the admin sends user_drop and b_admin to the NAS,
unblocking u_b_admin and user_accept (menu NAS → Command log, and the account card).
`radclient` authenticates a demo account against the same server:

    echo 'User-Name = "ivanov", User-Password = "demo-ivanov", Message-Authenticator = 0x00' \\
        | radclient -x 127.0.0.1:11812 auth demo-radius
"""
from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import select

from core import (Account, Agent, Service, Tariff, TariffService, create_account,
                  create_contract, create_subscriber, record_payment)
from plugin_nas_oss.agent import CODE
from plugin_nas_oss.emulator import NasEmulator
from plugin_nas_oss.emulator.peer import RadiusPeer

log = logging.getLogger("abonent.nas_oss.demo")

HOST, COA_PORT, AUTH_PORT, ACCT_PORT = "127.0.0.1", 13799, 11812, 11813
COA_SECRET, RADIUS_SECRET = "demo-coa", "demo-radius"
AGENT_NAME = "NAS (emulated MikroTik)"
#: (name, login, IP, payment)
ACCOUNTS = (
    ("Сергей Иванов", "ivanov", "10.10.0.11", "1500.00"),
    ("Ольга Смирнова", "smirnova", "10.10.0.12", "800.00"),
    ("Дмитрий Козлов", "kozlov", "10.10.0.13", "600.00"),
)


def load(session, runtime) -> None:
    """Add the demo NAS, its service, tariff and accounts (once: nothing if the agent exists)."""
    if session.scalar(select(Agent.id).where(Agent.type == CODE, Agent.name == AGENT_NAME)):
        return
    service = Service(name="Интернет 100 Мбит/с", kind="periodic", method="monthly",
                      price=Decimal("500.00"), agent_type=CODE,
                      activate_string="100M/100M", deactivate_string="1M/1M")
    tariff = Tariff(name="Интернет 100")
    tariff.items = [TariffService(service=service, is_base=True)]
    agent = Agent(type=CODE, name=AGENT_NAME, settings={
        "address": HOST, "coa_port": COA_PORT, "coa_secret": COA_SECRET,
        "radius_secret": RADIUS_SECRET, "profile": "mikrotik", "timeout": "1", "retries": 1})
    session.add_all([service, tariff, agent])
    session.flush()
    for number, (name, login, ip, paid) in enumerate(ACCOUNTS, 1):
        subscriber = create_subscriber(session, name=name, phones=[f"7900100{number:04d}"])
        contract = create_contract(session, subscriber.id)
        record_payment(session, contract.id, paid, source="demo-bank",
                       external_id=f"nas-demo-{number}")
        create_account(session, contract.id, login=login, agent_id=agent.id,
                       tariff_id=tariff.id, fields={"ip": ip, "auth_type": "pppoe",
                                                    "radius_password": f"demo-{login}"})


def start(runtime) -> list:
    """Start the emulated NAS and the RADIUS server; log the demo accounts in."""
    from plugin_nas_oss.radius_server_cli import start as start_radius
    emulator = NasEmulator(COA_SECRET, HOST, COA_PORT).start()
    server = start_radius(runtime, HOST, AUTH_PORT, ACCT_PORT)
    peer = RadiusPeer(emulator, HOST, server.auth_port, server.acct_port, RADIUS_SECRET)
    with runtime.session() as session:
        logins = session.execute(
            select(Account.login, Account.fields).join(Agent, Agent.id == Account.agent_id)
            .where(Agent.type == CODE, Agent.name == AGENT_NAME,
                   Account.trashed_at.is_(None))).all()
    online = [row.login for row in logins
              if peer.login(row.login, (row.fields or {}).get("radius_password"),
                            (row.fields or {}).get("ip"))]
    log.info("NAS emulator: CoA on %s:%d; RADIUS on %s auth %d / accounting %d; logged in: %s",
             HOST, emulator.port, HOST, server.auth_port, server.acct_port,
             ", ".join(online) or "nobody")
    return [emulator, server]
