"""Fixtures of the REST API's tests: the web app on the test database, keys of any role,
and a client that sends a key's token and checks every answer it gets against the
OpenAPI document the app generates (the contract test runs in every API test)."""
from __future__ import annotations

import itertools
from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder

from admin.app import create_app
from api import keys

_names = itertools.count(1)


@pytest.fixture
def app(runtime):
    return create_app(runtime)


@pytest.fixture
def openapi(app) -> OpenAPI:
    return OpenAPI.from_dict(app.test_client().get("/api/v1/openapi.json").get_json())


class ApiClient:
    """`call(method, path, json=None, token=…)` → the answer, validated against the
    document (status, headers, body) unless `checked=False`."""

    def __init__(self, app, openapi: OpenAPI, token: str | None, name: str = ""):
        self.client = app.test_client()
        self.name = name  # the key's
        self.openapi = openapi
        self.token = token

    def call(self, method: str, path: str, json: Any = None, *, checked: bool = True,
             token: str | None = "default", **kw):
        token = self.token if token == "default" else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.open(path, method=method, json=json, headers=headers, **kw)
        if checked:  # the request again (the client's copy has had its body read)
            sent = EnvironBuilder(path, method=method, json=json, headers=headers, **kw)
            self.openapi.validate_response(WerkzeugOpenAPIRequest(sent.get_request()),
                                           WerkzeugOpenAPIResponse(response))
        return response


@pytest.fixture
def new_key(runtime, settle):
    """new_key(role="administrator", rate_limit=600) → (name, token) of a new key."""
    def make(role: str = "administrator", rate_limit: int = 600) -> tuple[str, str]:
        settle()
        name = f"key{next(_names)}"
        with runtime.session(actor="test") as session:
            return name, keys.create_key(session, name, role, rate_limit=rate_limit).token
    return make


@pytest.fixture
def api(app, openapi, new_key):
    """api(role="administrator", rate_limit=600) → an ApiClient with a new key's token."""
    def make(role: str = "administrator", rate_limit: int = 600) -> ApiClient:
        name, token = new_key(role, rate_limit)
        return ApiClient(app, openapi, token, name)
    return make
