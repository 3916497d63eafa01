"""The client and the emulator checked against the platform's own OpenAPI document.

A scripted scenario drives every provider API operation the billing uses through the
real client and the real emulator; every request the client sent and every response
the emulator gave is then validated by openapi-core against the (repaired) spec.

The machinery (and its one deliberate widening of ``BaseUser.subscriptions``) lives in
:mod:`plugin_tv24.conformance`, which the plugin's delivery tests use too; a test below
shows the plain spec would refuse the widened property, so the deviation stays visible.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.response.exceptions import InvalidData
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from core import Exchange, PlatformHTTP
from plugin_tv24 import conformance
from plugin_tv24.client import Tv24Client, Tv24DuplicateUser, Tv24Rejected
from plugin_tv24.spec import load_raw_spec, load_spec, repair, spec_text

PUBLISHED_SHA256 = "739cc7f40dcb684fc22f2ab6f155e4388179b2c918afd8af9553bb204922da51"

# Every operation of the provider API the billing uses.
OPERATIONS = {
    ("get", "/v2/users"),
    ("post", "/v2/users"),
    ("get", "/v2/users/{id}"),
    ("patch", "/v2/users/{id}"),
    ("delete", "/v2/users/{id}"),
    ("get", "/v2/packets"),
    ("get", "/v2/users/{user_id}/subscriptions"),
    ("post", "/v2/users/{user_id}/subscriptions"),
    ("patch", "/v2/users/{user_id}/subscriptions/{id}"),
    ("delete", "/v2/users/{user_id}/subscriptions/{id}"),
    ("post", "/v2/users/{user_id}/subscriptions/{subscription_id}/pauses"),
    ("delete", "/v2/users/{user_id}/subscriptions/{subscription_id}/pauses/{pause_id}"),
    ("post", "/v2/users/{user_id}/pauses"),
    ("delete", "/v2/users/{user_id}/pauses/delete"),
}


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return conformance.openapi()


@pytest.fixture
def recorded(tv24_emulator):
    """A client whose every exchange with the emulator is kept, in order."""
    exchanges: list[Exchange] = []
    http = PlatformHTTP(tv24_emulator.url)
    http.observers.append(exchanges.append)
    with Tv24Client(tv24_emulator.url, tv24_emulator.token, http=http) as client:
        yield client, exchanges
    http.close()


def run_scenario(client: Tv24Client) -> None:
    """What the billing does over a subscriber's life, errors included."""
    packets = client.packets()
    client.packets(includes_availables=True)
    base_id = next(p["id"] for p in packets if p["base"])
    user = client.create_user("79001234567", "79001234567", first_name="Иван", last_name="Петров",
                              provider_uid="1001", is_active=True, device_limit=3, email="ivan@example.ru")
    with pytest.raises(Tv24DuplicateUser):
        client.create_user("ivan", "79001234567")
    client.create_user("79007654321", "79007654321", provider_uid="1002")
    assert client.find_user(phone="79001234567")["id"] == user["id"]
    client.find_user(username="79007654321")
    client.find_user(provider_uid="1001")
    list(client.iter_users(email="ivan@example.ru"))
    client.get_user(user["id"])
    client.patch_user(user["id"], device_limit=4, last_name="Сидоров")
    base, addon = client.create_subscriptions(user["id"], [
        {"packet_id": base_id, "renew": True},
        {"packet_id": next(iter(_available(client, base_id))), "renew": True},
    ])
    with pytest.raises(Tv24Rejected):
        client.create_subscriptions(user["id"], [{"packet_id": 999, "renew": True}])
    client.create_subscriptions(user["id"], [{"packet_id": base_id, "renew": True, "start_at": "2099-01-01T00:00:00Z",
                                              "end_at": "2099-01-31T23:59:59Z"}])
    list(client.iter_users(subscriptions="current"))
    for types in (None, "active", "current", "paused", "planned"):
        client.subscriptions(user["id"], types=types)
    client.patch_subscription(user["id"], addon["id"], renew=False)
    pause = client.pause_subscription(user["id"], base["id"])
    client.subscriptions(user["id"], types="paused")
    client.unpause(user["id"], base["id"], pause["id"])
    client.pause_all(user["id"])
    client.unpause_all(user["id"])
    client.delete_subscription(user["id"], addon["id"])
    client.delete_user(user["id"])
    with pytest.raises(Tv24Rejected):
        client.get_user(424242)


def _available(client: Tv24Client, base_id: int) -> list[int]:
    base = next(p for p in client.packets(includes_availables=True) if p["id"] == base_id)
    return [addon["id"] for addon in base["available"]]


# -- the document ----------------------------------------------------------------------------

def test_the_shipped_document_is_the_published_one():
    assert hashlib.sha256(spec_text().encode("utf-8")).hexdigest() == PUBLISHED_SHA256


def test_validators_refuse_the_published_document():
    with pytest.raises(OpenAPIValidationError, match="style"):
        OpenAPI.from_dict(load_raw_spec())


def test_repair_fixes_exactly_the_known_defects():
    raw = load_raw_spec()
    repaired = repair(raw)
    assert raw == load_raw_spec()  # the input is left alone
    assert repair(repaired) == repaired

    def path_parameters(document):
        return {
            (path, method, parameter["name"]): parameter
            for path, operations in document["paths"].items()
            for method, operation in operations.items()
            for parameter in operation.get("parameters", ())
            if parameter["in"] == "path"
        }

    before, after = path_parameters(raw), path_parameters(repaired)
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {("/v2/users/{id}", method, "id") for method in ("get", "patch", "delete")} | {
        ("/v2/users/{id}/archive", "delete", "id")}
    assert all("style" not in after[key] and "explode" not in after[key] for key in changed)
    assert repaired["components"]["securitySchemes"]["userAccessTokenHeader"]["in"] == "header"
    for document in (raw, repaired):  # everything else is untouched
        del document["components"]["securitySchemes"]["userAccessTokenHeader"]
        for parameters in path_parameters(document).values():
            parameters.pop("style", None)
            parameters.pop("explode", None)
    assert raw == repaired
    OpenAPI.from_dict(repaired)


# -- the traffic -----------------------------------------------------------------------------

def test_every_exchange_of_the_scenario_conforms(openapi, recorded):
    client, exchanges = recorded
    run_scenario(client)
    covered = {conformance.check_exchange(exchange, openapi) for exchange in exchanges}
    assert OPERATIONS <= covered, f"not exercised: {sorted(OPERATIONS - covered)}"
    statuses = {exchange.answer.status_code for exchange in exchanges}
    assert {200, 201, 204, 400, 404} <= statuses


def broken_paths(error: InvalidData) -> set[tuple]:
    """Where in the body the schema errors behind ``error`` point."""
    return {tuple(schema_error.absolute_path) for schema_error in error.__cause__.schema_errors}


@pytest.mark.parametrize("field, wrong", [("id", "100001"), ("is_active", "true"), ("date_joined", "yesterday"),
                                          ("provider", None)])
def test_a_response_field_of_the_wrong_type_fails_validation(openapi, recorded, field, wrong):
    client, exchanges = recorded
    user = client.create_user("79001234567", "79001234567")
    client.get_user(user["id"])
    good = conformance.as_response(exchanges[-1])
    conformance.check_exchange(good, openapi)  # the real answer passes

    broken = requests.Response()
    broken.status_code, broken.headers, broken.request = good.status_code, good.headers, good.request
    broken._content = json.dumps({**good.json(), field: wrong}).encode()
    with pytest.raises(InvalidData) as caught:
        conformance.check_exchange(broken, openapi)
    assert broken_paths(caught.value) == {(field,)}


def test_the_plain_spec_refuses_attached_subscriptions(recorded):
    client, exchanges = recorded
    user = client.create_user("79001234567", "79001234567")
    client.create_subscriptions(user["id"], [{"packet_id": 1, "renew": True}])
    list(client.iter_users(subscriptions="current"))
    plain = OpenAPI.from_dict(load_spec())
    last = conformance.as_response(exchanges[-1])
    with pytest.raises(InvalidData) as caught:
        plain.validate_response(RequestsOpenAPIRequest(last.request), RequestsOpenAPIResponse(last))
    assert broken_paths(caught.value) == {(0, "subscriptions")}
