"""The demo opens the cabinet for its first subscribers and every plugin's demo account
(the README's demo logins), not for the others."""
from __future__ import annotations

from core import demo
from core.models import Agent
from core.services import cabinet


def test_demo_accounts_get_the_cabinet_password(runtime, factory):
    generic, plugins = factory.agent(), factory.agent()
    for login, agent in (("u00001", generic), ("u00009", generic), ("79001112233", plugins)):
        factory.account(login=login, agent=agent)
    with runtime.session() as s:  # a plugin's agent, as the demo's hook makes it
        s.get(Agent, plugins.id).type = "tv24"
    with runtime.session() as s:
        demo._cabinet_passwords(s)
    for login in ("u00001", "79001112233"):
        assert cabinet.authenticate(runtime, login, demo.CABINET_PASSWORD).login == login
    assert cabinet.authenticate(runtime, "u00009", demo.CABINET_PASSWORD).account_id is None
