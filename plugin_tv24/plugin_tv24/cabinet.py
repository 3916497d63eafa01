"""The subscriber's 24h TV panel in the cabinet (/my/): the login to use in the 24h TV
app and the packets the platform has on it now, asked of the platform with the card
panel's short timeout. Nothing internal: no platform ids, no settings."""
from __future__ import annotations

from core import Panel, now, runtime_of
from plugin_tv24 import store
from plugin_tv24.agent import CODE, AgentSettings, identity
from plugin_tv24.panel import _platform, platform_state


def cabinet_panel(session, account) -> Panel | None:
    if account.agent.type != CODE or account.trashed:
        return None
    config = runtime_of(session).plugin_configs[store.PLUGIN]
    settings = AgentSettings.of(account.agent_id, account.agent.settings)
    user_id = store.user_id(session, account.id)
    user, subscriptions, problem = _platform(settings, config, user_id)
    at = now()
    packets = [[s["packet"].get("name") or s["packet"]["id"], platform_state(s, at),
                str(s["end_at"])[:10]]
               for s in subscriptions if platform_state(s, at) != "ended"]
    rows = [("Login in the 24h TV app", identity(account.login, account.fields or {}).username)]
    if user_id is None:
        rows.append(("State", "being created, check again in a minute"))
    elif problem:
        rows.append(("State", "the TV platform does not answer now"))
    return Panel(title="24h TV", rows=rows,
                 tables=[("Packets on the platform", ["Packet", "State", "Until"], packets)]
                 if packets else [])
