"""The Flask application factory: health check and the blueprints plugins register."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask, jsonify
from sqlalchemy import text

from core import migrate
from core.runtime import Runtime


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
    app.config["SECRET_KEY"] = secret_key(runtime)
    app.extensions["abonent"] = runtime

    @app.get("/healthz")
    def healthz():
        try:
            with runtime.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            revision = migrate.current(runtime.engine)
        except Exception as exc:  # the database is down: say so, with 503
            return jsonify(status="error", database=str(exc).splitlines()[0]), 503
        head = migrate.head()
        status = "ok" if revision == head else "migrations pending"
        return jsonify(status=status, database=runtime.engine.dialect.name,
                       revision=revision, head=head,
                       plugins=sorted(name for name, _ in runtime.pm.list_name_plugin())
                       ), 200 if status == "ok" else 503

    for blueprints in runtime.hook.abonent_blueprints(runtime=runtime):
        for blueprint in blueprints or []:
            app.register_blueprint(blueprint)
    return app
