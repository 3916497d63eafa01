"""What every resource module of the API shares: a blueprint that authenticates its
requests and answers errors as JSON, the per-operation permission check, the caller's
transaction, 404 for an unknown id, and cursor paging.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import wraps
from typing import Any, Iterator

import flask_smorest
from flask import abort, jsonify, request
from marshmallow import RAISE, Schema
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, InternalServerError

from api.auth import end_request, identify, refused, request_session
from api.errors import http_error, validation_error
from api.schemas import Errors
from core.errors import ValidationError
from core.services.inputs import MAX_KEY

PREFIX = "/api/v1"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ERRORS = {401: "no key, or an unknown or revoked one", 403: "the key's role lacks the permission",
          404: "no such record", 409: "in conflict with what is recorded (see the message)",
          422: "refused input: each error names its field",
          429: "over the key's rate limit: see Retry-After"}


def guard(blueprint: flask_smorest.Blueprint) -> None:
    """Make every request of `blueprint` need a live key within its rate limit, and
    answer its errors in the API's JSON."""
    blueprint.before_request(identify)
    blueprint.teardown_request(end_request)
    blueprint.register_error_handler(HTTPException, http_error)
    # by its code too: Flask prefers the application's 500 handler to a blueprint's
    # handler of a base class
    blueprint.register_error_handler(InternalServerError, http_error)
    blueprint.register_error_handler(ValidationError, validation_error)


def plugin_permission():
    """A plugin's resource (abonent_api_resources): reading needs plugins:view, any
    other method plugins:edit, as a plugin's admin pages do."""
    return refused("plugins:view" if request.method in SAFE_METHODS else "plugins:edit")


class _Parser(FlaskParser):
    """A query parameter the operation does not know is refused (422 naming it), as an
    unknown field of a body is: a misspelt filter must not answer the whole list."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": RAISE, "querystring": RAISE}


class ApiBlueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()

    def __init__(self, name: str, description: str):
        super().__init__(name, __name__, url_prefix=PREFIX, description=description)
        guard(self)

    def operation(self, permission: str, *errors: int):
        """The key's role must have `permission` (403 before the body is even read);
        documents the error answers every operation may give and `errors`."""
        def decorate(view):
            @wraps(view)
            def checked(*args, **kwargs):
                return refused(permission) or view(*args, **kwargs)
            for code in (401, 403, 429, *errors):
                checked = self.alt_response(code, schema=Errors, description=ERRORS[code])(checked)
            return checked
        return decorate


@contextmanager
def transaction(write: bool = False) -> Iterator[Session]:
    """The caller's transaction, in the request's session (api.auth.identify looked the
    key up in it): the audit log names the key ("api:<name>"); a read is rolled back at
    the end, a write committed unless it raised."""
    session = request_session()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    if write:
        session.commit()
    else:
        session.rollback()


def found(session: Session, model: type, key: int, what: str, lock: bool = False,
          options: tuple = ()):
    """The row of `model` with id `key` (loaded with `options`), or 404."""
    row = (session.get(model, key, with_for_update=lock or None, options=options)
           if key <= MAX_KEY else None)
    if row is None:
        abort(404, description=f"no {what} {key}")
    return row


def select_given(model: type, args: dict[str, Any], *names: str) -> Select:
    """SELECT `model` rows whose columns `names` equal the filters given in `args`."""
    query = select(model)
    for name in names:
        if name in args:
            query = query.where(getattr(model, name) == args[name])
    return query


def dumped(schema: Schema, obj: Any, status: int = 200):
    """The answer's JSON made while the session is still open (relationships load)."""
    return jsonify(schema.dump(obj)), status


def page(session: Session, query: Select, column, args: dict[str, Any], schema: Schema,
         rows_of=lambda rows: rows):
    """A page of `query`'s rows ordered by `column` (a unique id), from the `after`
    cursor on; `rows_of` may turn the rows into what `schema` dumps."""
    newest_first = args["sort"] == "-id"
    after = args.get("after")
    if after is not None:
        if not after.isdecimal() or len(after) > 19:
            raise ValidationError("after", "is not a cursor of this list")
        query = query.where(column < int(after) if newest_first else column > int(after))
    limit = args["limit"]
    rows = list(session.scalars(query.order_by(column.desc() if newest_first else column)
                                .limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify(items=[schema.dump(row) for row in rows_of(rows)],
                   next=str(rows[-1].id) if more else None)
