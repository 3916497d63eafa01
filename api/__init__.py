"""Abonent's REST API for integrators (issue 16): JSON under /api/v1/, served by the
admin's web process, its OpenAPI 3 document generated from the code (flask-smorest and
the marshmallow schemas of api.schemas) at /api/v1/openapi.json, a reference page made
from that document at /api/v1/docs.

A request acts with an API key (api.keys) of a role, exactly as a manager of that role:
every write goes through core/services (the same checks, events and audit log, the key
as the actor). Plugins add resources of their own (abonent_api_resources).
"""
from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from flask_smorest import Api

from api import reference
from api.blueprint import PREFIX, guard, plugin_permission
from api.errors import http_error
from api.ratelimit import RateLimiter
from api.schemas import Errors
from api.resources import (accounts, catalog, customers, invoices, money, operations, services,
                           usage)

RESOURCES = (customers, accounts, money, catalog, services, usage, invoices, operations)


class _Api(Api):
    """flask-smorest's Api without its application-wide error handler: the admin's pages
    keep theirs, the API's blueprints carry their own (api.errors), documented as Errors
    (every operation's default answer)."""

    ERROR_SCHEMA = Errors

    def _register_error_handlers(self):
        pass


def init_api(app: Flask, csrf: CSRFProtect) -> None:
    """Serve the API in `app`; its requests carry a key, not a form's CSRF token."""
    app.config.update(
        API_TITLE="Abonent API", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX, OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Subscribers, contracts, accounts, payments and blocks "
                                    "for the operator's other systems. Every request carries "
                                    "`Authorization: Bearer <token>` of an API key."},
            "security": [{"bearer": []}],
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        })
    app.extensions["abonent_api"] = {"limiter": RateLimiter()}
    api = _Api(app)
    for module in RESOURCES:
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp)
    runtime = app.extensions["abonent"]
    for resources in runtime.hook.abonent_api_resources(runtime=runtime):
        for blueprint in resources or []:
            guard(blueprint)
            blueprint.before_request(plugin_permission)
            csrf.exempt(blueprint)
            api.register_blueprint(blueprint, url_prefix=PREFIX + (blueprint.url_prefix or ""))
    app.register_blueprint(reference.blueprint(api))


def is_api(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


__all__ = ["PREFIX", "http_error", "init_api", "is_api"]
