"""Checking HTTP exchanges with the platform against its own OpenAPI document.

Used by the tests to validate every request the plugin sends and every response the
emulator gives (openapi-core, from the plugin's `test` extra). One deliberate widening:
`BaseUser.subscriptions` is typed string in the spec (a generator's default for a
computed field), but `GET /v2/users?subscriptions=…` attaches the list of subscriptions,
which is what reconciliation reads; it may be "string or list of PacketSubscription".
The spec documents no error responses: a 4xx is checked against the platform's error
envelope instead, and a 5xx (an overloaded platform, a proxy's HTML page) is not checked.
openapi-core does not read the values an operation's description lists for a parameter
(`subscriptions`, `types`), nor refuse undeclared parameters: each request also passes
the emulator's own strict check (plugin_tv24.emulator.strict), whatever was answered.
"""
from __future__ import annotations

import json
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.templating.paths.finders import APICallPathFinder
from requests.structures import CaseInsensitiveDict

from core import Exchange
from plugin_tv24.emulator.strict import StrictRequests
from plugin_tv24.spec import load_spec


def with_attached_subscriptions(document: dict) -> dict:
    """Allow `BaseUser.subscriptions` to be the attached list (see the module docstring)."""
    document["components"]["schemas"]["BaseUser"]["properties"]["subscriptions"] = {
        "readOnly": True,
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {"$ref": "#/components/schemas/PacketSubscription"}},
        ],
    }
    return document


@lru_cache(maxsize=1)
def strict() -> StrictRequests:
    return StrictRequests()


@lru_cache(maxsize=1)
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(with_attached_subscriptions(load_spec()))


def as_response(exchange: Exchange) -> requests.Response:
    """An exchange of the client's transport as requests' objects, which openapi-core's
    requests adapter reads."""
    response = requests.Response()
    response.request = requests.Request(exchange.method, exchange.url, headers=dict(exchange.headers),
                                        data=exchange.body).prepare()
    response.status_code, response.url = exchange.answer.status_code, exchange.url
    response.headers = CaseInsensitiveDict(exchange.answer.headers)
    response._content = exchange.answer.content
    return response


def check_exchange(exchange: Exchange | requests.Response, spec: OpenAPI | None = None) -> tuple[str, str]:
    """Validate one exchange (raises openapi-core's errors); returns its (method, path
    template)."""
    spec = spec or openapi()
    response = as_response(exchange) if isinstance(exchange, Exchange) else exchange
    request = RequestsOpenAPIRequest(response.request)
    spec.validate_request(request)
    sent = response.request
    body = json.loads(sent.body) if sent.body else None
    strict().check(sent.method, urlsplit(sent.url).path, parse_qsl(urlsplit(sent.url).query, keep_blank_values=True),
                   body, has_body=body is not None)
    if response.status_code < 400:
        spec.validate_response(request, RequestsOpenAPIResponse(response))
    elif response.status_code < 500:
        body = response.json()
        assert isinstance(body["error"]["message"], str), body
        assert body["status_code"] == response.status_code, body
        assert isinstance(body.get("detail", {}), (dict, list)), body
    found = APICallPathFinder(spec.spec).find(request.method, request.host_url + request.path)
    return request.method, found.path.parts[-1]
