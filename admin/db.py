"""Database sessions inside a web request.

Two kinds, never mixed in one request (on SQLite each transaction holds the write lock
from its first statement, so a second one would wait for the first):

- `request_session`: the session Flask-Admin's model views work in (lists, forms); one
  per request, removed when the request ends. Its `info` carries the runtime and the
  manager as actor, so the service functions the forms call write the audit log in the
  manager's name, exactly as in a `Runtime.session()`.
- `manager_session()`: a `Runtime.session(actor="manager:<login>")` transaction, used by
  the pages written by hand (account card, outbox, jobs…): committed when the block ends.
"""
from __future__ import annotations

from flask import current_app
from flask.globals import app_ctx
from flask_login import current_user
from sqlalchemy.orm import Session, scoped_session

from core.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["abonent"]


def actor() -> str:
    if current_user and getattr(current_user, "is_authenticated", False):
        return f"manager:{current_user.login}"
    return "admin"


def manager_session():
    """A transaction in the current manager's name (committed at the end of the block)."""
    return runtime().session(actor=actor())


def _new_session() -> Session:
    rt = runtime()
    return Session(rt.engine, expire_on_commit=False, info={"runtime": rt, "actor": actor()})


def _app_context_id() -> int:
    return id(app_ctx._get_current_object())


request_session = scoped_session(_new_session, scopefunc=_app_context_id)


def init_sessions(app) -> None:
    @app.teardown_appcontext
    def _remove(_exc):
        request_session.remove()
