"""The Flask application factory: the operator admin (Flask-Admin, logins and roles, CSRF
on every form, English/Russian/Polish), the health check, and the blueprints plugins
register (platform callbacks, which authenticate themselves and so carry no CSRF token).
"""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask, abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import text
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

import api
from admin import pay, staff
from admin.auth import ADMIN_URL, init_login
from admin.cabinet import init_cabinet
from admin.db import init_sessions
from admin.formatting import init_formatting
from admin.headers import init_headers
from admin.i18n import init_babel
from admin.views import build_admin
from core import migrate
from core.runtime import Runtime
from plugins.host import branches_of

log = logging.getLogger("abonent.admin")


def secret_key(runtime: Runtime) -> str:
    """The configured key, or one generated once and kept under var/ (never a default)."""
    configured = runtime.settings.section("server")["secret_key"]
    if configured:
        return configured
    path = Path(runtime.settings.var_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(runtime: Runtime) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key(runtime),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # a token lives as long as the login session: operators keep pages open all day
        WTF_CSRF_TIME_LIMIT=None,
        # a larger body is refused (413) by its Content-Length before any of it is spooled
        MAX_CONTENT_LENGTH=runtime.settings.section("server")["max_upload_mb"] * 2**20,
    )
    init_headers(app, runtime.settings.section("server"))
    app.extensions["abonent"] = runtime
    app.extensions["abonent_admin"] = {}
    staff.seed(runtime)

    branches = branches_of(runtime.pm, runtime.settings)

    @app.get("/healthz")
    def healthz():
        try:
            with runtime.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            schema = migrate.status(runtime.engine, branches)
        except Exception as exc:  # the database is down: say so, with 503
            return jsonify(status="error", database=str(exc).splitlines()[0]), 503
        status = "migrations pending" if schema.behind else "ok"
        core = schema.branches[0]
        return jsonify(status=status, database=runtime.engine.dialect.name,
                       revision=core.current, head=core.head,
                       behind=[branch.name for branch in schema.behind],
                       plugins=sorted(name for name, _ in runtime.pm.list_name_plugin())
                       ), 200 if status == "ok" else 503

    app.before_request(_refuse_nul)
    csrf = CSRFProtect(app)
    init_babel(app)
    init_login(app)
    init_sessions(app)
    init_formatting(app)
    build_admin(app, runtime)
    init_cabinet(app)
    api.init_api(app, csrf)
    _error_pages(app)
    payments = pay.blueprint(runtime)  # payment systems sign their calls: no CSRF token
    csrf.exempt(payments)
    app.register_blueprint(payments)
    for blueprints in runtime.hook.abonent_blueprints(runtime=runtime):
        for blueprint in blueprints or []:
            csrf.exempt(blueprint)
            app.register_blueprint(blueprint)
    return app


def _refuse_nul():
    """A NUL character is never part of real input (and PostgreSQL refuses it in text):
    such a request is answered 400 before anything reads it."""
    if any("\x00" in value for value in (*request.args.values(), *request.form.values())):
        abort(400, description=_("The request contains a NUL character."))


def _for_people() -> bool:
    """Errors of the admin's pages are explained on a page; a plugin's callback API keeps
    its own (JSON) error answers."""
    return request.path.startswith(ADMIN_URL) or request.blueprint == "auth"


def _error_pages(app: Flask) -> None:
    titles = {400: _l("Request refused"), 403: _l("Not allowed"), 404: _l("Not found"),
              405: _l("Not allowed here"), 413: _l("Too large")}
    messages = {
        400: _l("The request could not be understood. Go back and try again."),
        403: _l("Your role does not allow this page or action."),
        404: _l("There is no such page or record."),
        405: _l("This address does not take that kind of request."),
        413: _l("What was sent is larger than the server takes. Send a smaller file or ask "
                "the administrator to raise [server] max_upload_mb."),
    }

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        """Said with the limit, as a page, as the API's JSON or to a plugin's callback."""
        exc.description = _("The request is larger than %(mb)s MB, the most this server takes.",
                            mb=app.config["MAX_CONTENT_LENGTH"] // 2**20)
        return http_error(exc)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_template("abonent/error.html", status=400, title=_("Form refused"),
                               message=_("The form was sent without its security token, or the "
                                         "token is stale. Reload the page and send it again.")), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if api.is_api(request.path):  # no such route in the API: answered in its JSON
            return api.http_error(exc)
        if not _for_people() or exc.code not in messages:
            return exc
        # a description given by the view (what is missing, which permission) is shown too
        own = exc.description if exc.description != type(exc).description else None
        if own and exc.code == 403:
            own = _("Needed permission: %(permission)s", permission=own)
        return render_template("abonent/error.html", status=exc.code, title=titles[exc.code],
                               message=messages[exc.code], detail=own), exc.code

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError):
        log.error("error on %s %s: %r", request.method, request.path, exc.original_exception)
        if not _for_people():
            return exc
        return render_template("abonent/error.html", status=500, title=_("Something went wrong"),
                               message=_("The error has been logged for the administrators. "
                                         "Nothing you entered was saved.")), 500
