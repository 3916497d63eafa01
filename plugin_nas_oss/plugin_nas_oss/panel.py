"""The NAS panel of the account card: the account's NAS and key parameters, its open
session (as the RADIUS accounting knows it), the page with the diagnostics buttons
(user_info, user_test, user_disconnect: plugin_nas_oss.admin) and its latest commands
with the NAS's answers. Read from the billing's tables only: the card never waits on a
NAS."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core import Panel, account_state
from plugin_nas_oss import command_log
from plugin_nas_oss.agent import CODE
from plugin_nas_oss.sessions import NasSession

COMMANDS = ["At", "Command", "Transport", "To", "Outcome", "NAS answer"]


def account_panel(session, account) -> Panel | None:
    if account.agent is None or account.agent.type != CODE:
        return None
    settings, fields = account.agent.settings or {}, account.fields or {}
    open_session = session.scalars(
        select(NasSession).where(NasSession.account_id == account.id,
                                 NasSession.stopped_at.is_(None))
        .order_by(NasSession.started_at.desc()).limit(1)).first()
    rows: list[tuple[str, Any]] = [
        ("NAS", f"{account.agent.name} ({settings.get('address', '?')}, profile "
                f"{settings.get('profile', 'mikrotik')})"
                + ("" if settings.get("in_service", True) else " — out of service")),
        ("Auth type", fields.get("auth_type", "pppoe")),
        ("IP / VLAN / port",
         " / ".join(str(fields.get(k) or "—") for k in ("ip", "vlan", "port"))),
        ("MAC", fields.get("mac") or "—"),
        ("Account state", "in the trash" if account.trashed
         else account_state(session, account.id)),
        ("Session", f"{open_session.session_id} since {open_session.started_at:%Y-%m-%d %H:%M} "
                    f"({open_session.framed_ip or 'no IP'})" if open_session else "none open"),
        ("Diagnostics (user_info, user_test, disconnect)",
         f"/admin/nas_account/?account_id={account.id}"),
    ]
    commands = [[f"{c.at:%Y-%m-%d %H:%M:%S}", c.command, c.transport, c.target, c.outcome,
                 c.answer] for c in command_log.of_account(session, account.id, limit=10)]
    return Panel(title="NAS", rows=rows, tables=[("Latest commands", COMMANDS, commands)])
