"""The NAS pages of the admin (menu "NAS"):

- Account (from the card's NAS panel, `?account_id=`): the account's NAS facts and the
  diagnostics buttons — user_info and user_test show the NAS's answer, user_disconnect
  resets the session, user_auth lifts a HotSpot redirect — each sent at once (one try,
  `[plugins.nas_oss] diagnostics_timeout`), logged and audited; and the account's commands.
- Command log: every command sent, filtered by NAS, account, command and outcome, paged.
- Vendor profiles: the command → action table of every profile, and each NAS's overrides.

The admin puts the "plugins" area's permissions on every view (reading needs
`plugins:view`, posting `plugins:edit`). A bad filter or account is named, never a 500.
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from sqlalchemy import select

from core import MAX_KEY, Account, Agent, ValidationError, audit
from plugin_nas_oss import command_log, profiles
from plugin_nas_oss.agent import CODE
from plugin_nas_oss.commands import send_command

CATEGORY = "NAS"
PLUGIN = "nas_oss"
BUTTONS = ("user_info", "user_test", "user_disconnect", "user_auth")
PAGE = 50


def number(name: str, required: bool = False) -> int | None:
    """A whole number from the posted form or the query, refused naming the field."""
    raw = ((request.form.get(name) if request.method == "POST" else None)
           or request.args.get(name) or "").strip()
    if not raw:
        if required:
            raise ValidationError(name, "is required")
        return None
    if not raw.isdigit() or not 0 < int(raw) <= MAX_KEY:
        raise ValidationError(name, f"must be a whole number from 1, not {raw[:20]!r}")
    return int(raw)


def choice(name: str, allowed) -> str | None:
    raw = (request.args.get(name) or "").strip()
    if raw and raw not in allowed:
        raise ValidationError(name, f"must be one of {', '.join(allowed)}")
    return raw or None


class NasView(BaseView):
    """A NAS page: templates from this package and the plugin's context."""

    def create_blueprint(self, admin):
        blueprint = super().create_blueprint(admin)
        blueprint.root_path = str(Path(__file__).parent)
        blueprint.template_folder = "templates"
        return blueprint

    @property
    def ctx(self):
        return current_app.extensions["abonent"].context(PLUGIN)


class AccountView(NasView):
    @expose("/")
    def index(self):
        try:
            account_id = number("account_id", required=True)
        except ValidationError as exc:
            flash(f"Refused — {exc.field}: {exc.reason}", "error")
            return redirect(url_for("nas_commands.index"))
        with self.ctx.session() as session:
            account = session.get(Account, account_id)
            if account is None or account.agent.type != CODE:
                flash(f"Refused — account_id: account {account_id} is not on a NAS", "error")
                return redirect(url_for("nas_commands.index"))
            facts = {"login": account.login, "nas": account.agent.name,
                     "address": (account.agent.settings or {}).get("address"),
                     "fields": {k: v for k, v in (account.fields or {}).items()
                                if k != "radius_password"}}
            commands = command_log.of_account(session, account_id, limit=PAGE)
        return self.render("nas/account.html", account_id=account_id, facts=facts,
                           commands=commands, buttons=BUTTONS)

    def is_visible(self) -> bool:
        return False  # reached from the account card

    @expose("/send", methods=("POST",))
    def send(self):
        try:
            account_id = number("account_id", required=True)
            command = (request.form.get("command") or "").strip()
            if command not in BUTTONS:
                raise ValidationError("command", f"must be one of {', '.join(BUTTONS)}")
            timeout = float(self.ctx.config["diagnostics_timeout"])
            result = send_command(self.ctx, account_id, command, timeout=timeout)
        except ValidationError as exc:
            flash(f"Refused — {exc.field}: {exc.reason}", "error")
            return redirect(url_for("nas_commands.index"))
        with self.ctx.session() as session:
            audit(session, command, "account", account_id,
                  {"outcome": result.outcome, "answer": result.answer})
        flash(f"{command}: {result.outcome} — {result.answer or 'no answer text'}",
              "success" if result.outcome == command_log.ACK else "error")
        return redirect(url_for(".index", account_id=account_id))


class CommandsView(NasView):
    @expose("/")
    def index(self):
        problem, rows, page = None, [], 0
        try:
            filters = {"agent_id": number("agent_id"), "account_id": number("account_id"),
                       "command": choice("command", profiles.COMMANDS),
                       "outcome": choice("outcome", (command_log.ACK, command_log.NAK,
                                                     command_log.SILENT, command_log.SKIPPED,
                                                     command_log.NO_SESSION, command_log.ERROR))}
            page = (number("page") or 1) - 1
        except ValidationError as exc:
            problem, filters = f"{exc.field}: {exc.reason}", {}
        with self.ctx.session() as session:
            if problem is None:
                rows = command_log.page(session, offset=page * PAGE, limit=PAGE, **filters)
            nases = {row.id: row.name for row in session.execute(
                select(Agent.id, Agent.name).where(Agent.type == CODE))}
        return self.render("nas/commands.html", rows=rows, nases=nases, problem=problem,
                           filters={k: v for k, v in filters.items() if v is not None},
                           page=page + 1, more=len(rows) == PAGE, commands=profiles.COMMANDS)


class ProfilesView(NasView):
    @expose("/")
    def index(self):
        with self.ctx.session() as session:
            overrides = [(agent.name, (agent.settings or {}).get("profile", "mikrotik"),
                          _described((agent.settings or {}).get("commands") or {}))
                         for agent in session.scalars(select(Agent).where(Agent.type == CODE)
                                                      .order_by(Agent.name))]
        return self.render("nas/profiles.html", profiles=profiles.all_profiles(),
                           commands=profiles.COMMANDS, overrides=overrides)


def _described(overrides: dict) -> dict[str, str]:
    described = {}
    for command, raw in overrides.items():
        try:
            described[command] = profiles.parse_action(command, raw).describe()
        except ValueError as exc:
            described[command] = f"invalid: {exc}"
    return described


def views() -> list[BaseView]:
    return [CommandsView(name="Command log", category=CATEGORY, endpoint="nas_commands"),
            ProfilesView(name="Vendor profiles", category=CATEGORY, endpoint="nas_profiles"),
            AccountView(name="NAS account", category=CATEGORY, endpoint="nas_account")]
