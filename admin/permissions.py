"""What a role may do: permission strings "<area>:<action>" and the built-in roles.

An area is a group of admin pages (accounts, payments, settings…); `view` opens its
pages, the other actions allow the changes made from them. A page or action a role lacks
answers 403 and its menu entry, buttons and forms are not shown. Plugin-added views
belong to the "plugins" area: reading them needs `plugins:view`, posting to them
`plugins:edit`.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: area -> the actions it knows, in the order the role editor shows them
AREAS: dict[str, tuple[str, ...]] = {
    "dashboard": ("view",),
    "settings": ("view", "edit"),
    "subscribers": ("view", "create", "edit"),
    "contracts": ("view", "create", "edit"),
    "accounts": ("view", "create", "edit", "delete", "block", "services", "sync"),
    "payments": ("view", "create", "reverse", "credit", "promise"),
    "charges": ("view", "create"),
    "usage": ("view",),
    "invoices": ("view", "create"),
    "reports": ("view",),
    "helpdesk": ("view", "work"),
    "jobs": ("view", "run"),
    "outbox": ("view", "retry"),
    "plugins": ("view", "edit"),
    "staff": ("view", "edit"),
    "audit": ("view",),
}

AREA_TITLES = {
    "dashboard": _l("Dashboard"), "settings": _l("Settings (operator, agents, catalog)"),
    "subscribers": _l("Subscribers"), "contracts": _l("Contracts"), "accounts": _l("Accounts"),
    "payments": _l("Payments"), "charges": _l("Charges"), "usage": _l("Usage records"),
    "invoices": _l("Invoices"), "reports": _l("Reports"), "helpdesk": _l("HelpDesk"),
    "jobs": _l("Scheduled jobs"), "outbox": _l("Event outbox"),
    "plugins": _l("Plugins and their pages"), "staff": _l("Managers and roles"),
    "audit": _l("Audit log"),
}

ACTION_TITLES = {
    "view": _l("view"), "create": _l("create"), "edit": _l("edit"),
    "delete": _l("trash / restore"), "block": _l("block"), "services": _l("services, tariff"),
    "sync": _l("synchronise"), "run": _l("run now"), "retry": _l("retry"),
    "reverse": _l("reverse"), "credit": _l("manual credit"), "promise": _l("promised payment"),
    "work": _l("answer, assign, open"),
}

ALL = frozenset(f"{area}:{action}" for area, actions in AREAS.items() for action in actions)

ADMINISTRATOR = "administrator"

#: The roles every installation has; their permissions are re-applied at start-up, so an
#: upgrade that adds an area gives it to them. Custom roles are edited in the admin.
BUILTIN_ROLES: dict[str, frozenset[str]] = {
    ADMINISTRATOR: ALL,
    "manager": frozenset(
        {p for p in ALL if p.endswith(":view") and not p.startswith("staff:")}
        | {"subscribers:create", "subscribers:edit", "contracts:create", "contracts:edit",
           "accounts:create", "accounts:edit", "accounts:delete", "accounts:block",
           "accounts:services", "accounts:sync", "payments:create", "payments:reverse",
           "payments:promise", "invoices:create", "helpdesk:work",
           "outbox:retry", "plugins:edit"}),
    "cashier": frozenset({"dashboard:view", "subscribers:view", "contracts:view",
                          "accounts:view", "payments:view", "payments:create",
                          "charges:view", "invoices:view"}),
    "read-only": frozenset(p for p in ALL if p.endswith(":view") and not p.startswith("staff:")),
}


def clean(permissions) -> list[str]:
    """The known permissions among `permissions`, sorted (unknown strings are dropped)."""
    return sorted(set(permissions or ()) & ALL)
