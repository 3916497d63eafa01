"""Managers, roles and passwords: the rules the admin and `abonent manager` share.

There is no default password (LANBilling ships `admin` with an empty one): start-up seeds
the built-in roles and an administrator `admin` without a password, and until an
administrator has one the admin serves no page. A password is set through a one-time
set-up link (printed by `abonent serve`, or made for any manager by an administrator) or
by `abonent manager create --admin`. Passwords are kept only as argon2 hashes; links only
as SHA-256 digests of their token. Every change is written to the audit log.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin import sessions
from admin.languages import LANGUAGES
from admin.permissions import ADMINISTRATOR, BUILTIN_ROLES, clean
from core.audit import audit, diff
from core.clock import now
from core.errors import Duplicate, NotFound, ValidationError
from core.models import Manager, Role, SetupToken
from core.runtime import Runtime
from core.services import inputs
from core.services.customers import EMAIL

MIN_PASSWORD = 8
LINK_LIFETIME = timedelta(hours=24)
FIRST_ADMIN = "admin"
LOGIN = r"[A-Za-z0-9_.@-]+"

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown, so a wrong login takes as long as a
    wrong password and the answer time does not tell which logins exist. Made on first
    use, not at import: every `abonent` command imports this module, few log anyone in."""
    return _hasher.hash(secrets.token_hex(16))


# --- start-up -------------------------------------------------------------------------

def seed(runtime: Runtime) -> None:
    """Create or refresh the built-in roles and create the first administrator (without
    a password) when there is no manager at all. Safe to run at every start, and by two
    processes at once (the loser of a race finds the rows the winner wrote)."""
    for attempt in (1, 2):
        try:
            with runtime.session(actor="system") as session:
                _seed(session)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _seed(session: Session) -> None:
    roles = {role.name: role for role in session.scalars(select(Role))}
    for name, permissions in BUILTIN_ROLES.items():
        wanted = sorted(permissions)
        role = roles.get(name)
        if role is None:
            role = Role(name=name, permissions=wanted, builtin=True)
            session.add(role)
            session.flush()
            audit(session, "create", "role", role.id, {"name": name, "permissions": wanted})
            roles[name] = role
        elif sorted(role.permissions) != wanted or not role.builtin:
            audit(session, "update", "role", role.id,
                  {"permissions": {"old": sorted(role.permissions), "new": wanted}})
            role.permissions, role.builtin = wanted, True
    if session.scalar(select(Manager.id).limit(1)) is None:
        manager = Manager(login=FIRST_ADMIN, name="Administrator", role=roles[ADMINISTRATOR],
                          language="en")
        session.add(manager)
        session.flush()
        audit(session, "create", "manager", manager.id,
              {"login": FIRST_ADMIN, "role": ADMINISTRATOR, "password": "not set"})


def is_set_up(session: Session) -> bool:
    """True once an active administrator has a password."""
    return session.scalar(
        select(Manager.id).join(Role).where(Role.name == ADMINISTRATOR, Manager.active.is_(True),
                                             Manager.password_hash.is_not(None)).limit(1)
    ) is not None


def first_administrator(session: Session) -> Manager | None:
    """The administrator a first-start link is for: the oldest active one."""
    return session.scalars(select(Manager).join(Role).where(
        Role.name == ADMINISTRATOR, Manager.active.is_(True)).order_by(Manager.id)).first()


# --- passwords and logging in ------------------------------------------------------------

def check_password(manager: Manager, password: Any, confirm: Any = None) -> str:
    """The password if acceptable, else ValidationError naming `password` or `confirm`."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError("password", f"must be at least {MIN_PASSWORD} characters long")
    if password.strip().lower() == (manager.login or "").lower():
        raise ValidationError("password", "must not be the same as the login")
    if confirm is not None and confirm != password:
        raise ValidationError("confirm", "the two passwords differ")
    return password


def set_password(session: Session, manager_id: Any, password: Any, confirm: Any = None,
                 keep_session: str | None = None) -> Manager:
    """Set the password and end the manager's sessions but `keep_session` (the token of
    the session the change is made from, when it is the manager's own)."""
    manager = inputs.fetch(session, Manager, manager_id, "manager_id")
    check_password(manager, password, confirm)
    had = manager.password_hash is not None
    manager.password_hash = _hasher.hash(password)
    sessions.end_all(session, manager.id, keep=keep_session)
    session.flush()
    audit(session, "set_password", "manager", manager.id,
          {"password": {"old": "set" if had else "not set", "new": "set"}})
    return manager


def verify(manager: Manager | None, password: Any) -> bool:
    """Whether `password` is the manager's (an inactive manager or one without a
    password never matches). Takes the same time whether the manager exists or not."""
    usable = manager is not None and manager.active and manager.password_hash
    try:
        _hasher.verify(manager.password_hash if usable else _dummy_hash(), str(password or ""))
    except (VerificationError, InvalidHashError):
        return False
    return bool(usable)


@dataclass(frozen=True)
class Attempt:
    """A login attempt's verdict: the manager it opens (None: refused) and the manager the
    login names, if any (for the audit log)."""

    manager_id: int | None
    named_id: int | None


def authenticate(runtime: Runtime, login: Any, password: Any) -> Attempt:
    """Check a login and password. The argon2 check (the slow part, tens of ms) runs
    outside any transaction, so a flood of attempts never holds SQLite's write lock."""
    login = str(login or "").strip()
    with runtime.session(actor="admin") as session:
        manager = (session.scalars(select(Manager).where(Manager.login == login)).first()
                   if login else None)
        named = None if manager is None else manager.id
        stored = manager.password_hash if manager is not None and manager.active else None
    try:
        _hasher.verify(stored or _dummy_hash(), str(password or ""))
    except (VerificationError, InvalidHashError):
        return Attempt(None, named)
    if stored is None:
        return Attempt(None, named)
    if _hasher.check_needs_rehash(stored):
        with runtime.session(actor=f"manager:{login}") as session:
            session.execute(update(Manager).where(Manager.id == named,
                                                  Manager.password_hash == stored)
                            .values(password_hash=_hasher.hash(password)))
    return Attempt(named, named)


def note_login(session: Session, manager_id: int) -> Manager:
    manager = inputs.fetch(session, Manager, manager_id, "manager_id")
    manager.last_login_at = now()
    audit(session, "login", "manager", manager.id, {})
    return manager


# --- one-time set-up links ---------------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_setup_token(session: Session, manager_id: Any) -> str:
    """A new one-time token to set the manager's password; earlier unused ones expire."""
    manager = inputs.fetch(session, Manager, manager_id, "manager_id")
    if not manager.active:
        raise ValidationError("manager_id", f"manager {manager.login} is not active")
    at = now()
    session.execute(update(SetupToken).where(
        SetupToken.manager_id == manager.id, SetupToken.used_at.is_(None),
        SetupToken.expires_at > at).values(expires_at=at))
    token = secrets.token_urlsafe(32)
    expires = at + LINK_LIFETIME
    session.add(SetupToken(token_hash=_digest(token), manager_id=manager.id, expires_at=expires))
    session.flush()
    audit(session, "setup_link", "manager", manager.id, {"expires_at": expires})
    return token


def token_owner(session: Session, token: str) -> Manager | None:
    """The manager a still valid, unused token belongs to."""
    row = session.scalars(select(SetupToken).where(SetupToken.token_hash == _digest(token))).first()
    if row is None or row.used_at is not None or row.expires_at <= now():
        return None
    manager = session.get(Manager, row.manager_id)
    return manager if manager is not None and manager.active else None


def use_setup_token(session: Session, token: str, password: Any, confirm: Any) -> Manager:
    """Set the password through a link; the link cannot be used again."""
    manager = token_owner(session, token)
    if manager is None:
        raise NotFound("token", "this set-up link is not valid any more")
    set_password(session, manager.id, password, confirm)
    session.execute(update(SetupToken).where(SetupToken.token_hash == _digest(token))
                    .values(used_at=now()))
    return manager


# --- managers and roles --------------------------------------------------------------------

MANAGER_FIELDS = ("login", "name", "role_id", "language", "active", "email")


def _manager_values(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "login" in data:
        values["login"] = inputs.text(data["login"], "login", max_len=50, pattern=LOGIN,
                                      what="letters, digits and _ . @ - only")
    if "name" in data:
        values["name"] = inputs.text(data["name"], "name", max_len=200)
    if "role_id" in data:
        values["role_id"] = inputs.fetch(session, Role, data["role_id"], "role_id").id
    if "language" in data:
        if data["language"] not in LANGUAGES:
            raise ValidationError("language", f"must be one of {', '.join(LANGUAGES)}")
        values["language"] = data["language"]
    if "active" in data:
        values["active"] = inputs.boolean(data["active"], "active")
    if "email" in data:  # where the HelpDesk tells the manager of a subscriber's answer
        values["email"] = inputs.text(data["email"], "email", required=False, max_len=200,
                                      pattern=EMAIL, what="is not an e-mail address")
    return values


def _login_free(session: Session, login: str, manager_id: int | None = None) -> None:
    query = select(Manager.id).where(Manager.login == login)
    if manager_id is not None:
        query = query.where(Manager.id != manager_id)
    if session.scalar(query) is not None:
        raise Duplicate("login", f"login {login!r} is already taken")


def create_manager(session: Session, *, password: Any = None, confirm: Any = None,
                   **data: Any) -> Manager:
    """login, name, role_id (required), language, active; a password is optional (without
    one the manager logs in after using a set-up link)."""
    inputs.only(data, MANAGER_FIELDS)
    for required in ("login", "name", "role_id"):
        data.setdefault(required, None)
    values = {"language": "en", "active": True, **_manager_values(session, data)}
    _login_free(session, values["login"])
    manager = Manager(**values)
    if password:
        manager.password_hash = _hasher.hash(check_password(manager, password, confirm))
    session.add(manager)
    session.flush()
    audit(session, "create", "manager", manager.id,
          {**values, "password": "set" if password else "not set"})
    return manager


def _administrators_with_password(session: Session) -> list[int]:
    return list(session.scalars(select(Manager.id).join(Role).where(
        Role.name == ADMINISTRATOR, Manager.active.is_(True), Manager.password_hash.is_not(None))))


def update_manager(session: Session, manager_id: Any, **data: Any) -> Manager:
    inputs.only(data, MANAGER_FIELDS)
    manager = inputs.fetch(session, Manager, manager_id, "manager_id")
    values = _manager_values(session, data)
    if "login" in values:
        _login_free(session, values["login"], manager.id)
    old = {k: getattr(manager, k) for k in values}
    role = session.get(Role, values.get("role_id", manager.role_id))
    keeps_admin = values.get("active", manager.active) and role.name == ADMINISTRATOR
    if not keeps_admin and _administrators_with_password(session) == [manager.id]:
        field = "active" if not values.get("active", manager.active) else "role_id"
        raise ValidationError(field, f"{manager.login} is the last administrator who can "
                                     f"log in; give another manager that role first")
    for key, value in values.items():
        setattr(manager, key, value)
    if not manager.active:
        sessions.end_all(session, manager.id)
    session.flush()
    changes = diff(old, values)
    if changes:
        audit(session, "update", "manager", manager.id, changes)
    return manager


def save_role(session: Session, role_id: Any, *, name: Any, permissions: Any) -> Role:
    """Create (role_id None) or change a custom role; built-in roles are fixed."""
    name = inputs.text(name, "name", max_len=50)
    wanted = clean(permissions)
    role = None if role_id is None else inputs.fetch(session, Role, role_id, "role_id")
    if role is not None and role.builtin:
        raise ValidationError("name", f"{role.name} is a built-in role; copy it into a new role "
                                      f"to change its permissions")
    query = select(Role.id).where(func.lower(Role.name) == name.lower())
    if role is not None:
        query = query.where(Role.id != role.id)
    if session.scalar(query) is not None:
        raise Duplicate("name", f"a role named {name!r} exists")
    if role is None:
        role = Role(name=name, permissions=wanted, builtin=False)
        session.add(role)
        session.flush()
        audit(session, "create", "role", role.id, {"name": name, "permissions": wanted})
        return role
    changes = diff({"name": role.name, "permissions": sorted(role.permissions)},
                   {"name": name, "permissions": wanted})
    role.name, role.permissions = name, wanted
    session.flush()
    if changes:
        audit(session, "update", "role", role.id, changes)
    return role


def delete_role(session: Session, role_id: Any) -> None:
    role = inputs.fetch(session, Role, role_id, "role_id")
    if role.builtin:
        raise ValidationError("role_id", f"{role.name} is a built-in role and stays")
    users = session.scalar(select(func.count()).select_from(Manager)
                           .where(Manager.role_id == role.id))
    if users:
        raise ValidationError("role_id", f"{users} manager(s) have the role {role.name}")
    audit(session, "delete", "role", role.id, {"name": role.name,
                                               "permissions": sorted(role.permissions)})
    session.delete(role)
    session.flush()


def first_start_link(runtime: Runtime, base_url: str) -> str | None:
    """While no administrator has a password: a fresh one-time link for the first one
    (what `abonent serve` prints at start); None once set up."""
    with runtime.session(actor="system") as session:
        if is_set_up(session):
            return None
        manager = first_administrator(session)
        if manager is None:
            return None
        token = issue_setup_token(session, manager.id)
    return f"{base_url.rstrip('/')}/setup/{token}"
