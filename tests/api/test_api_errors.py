"""Refusals of the API name the field (422) as the admin's forms do; unknown ids and
routes are 404 in JSON; lists page with cursors; the reference page works under the
admin's Content-Security-Policy."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.sqlite_only


def _errors(response) -> list[tuple[str | None, str]]:
    return [(e["field"], e["message"]) for e in response.json["errors"]]


def test_refusals_name_the_field(api, factory):
    contract = factory.contract()
    client = api()
    assert _errors(client.call("POST", "/api/v1/subscribers", {"kind": "person"})) == [
        ("name", "Missing data for required field.")]
    assert _errors(client.call("POST", "/api/v1/subscribers", {"name": "A", "age": 3})) == [
        ("age", "Unknown field.")]
    assert _errors(client.call("POST", "/api/v1/subscribers",
                               {"name": "A", "phones": ["call me"]}))[0][0] == "phones.0"
    too_fine = client.call("POST", "/api/v1/payments", {"contract_id": contract.id,
                                                        "amount": "1.234"})
    assert too_fine.status_code == 422 and _errors(too_fine)[0][0] == "amount"
    assert _errors(client.call("POST", "/api/v1/payments", {"amount": "1"}))[0][0] == (
        "contract_id")
    assert _errors(client.call("POST", "/api/v1/payments", {"amount": "1",
                                                            "contract_number": "NO-1"})) == [
        ("contract_number", "no contract numbered NO-1")]
    assert _errors(client.call("POST", "/api/v1/payments", [1])) == [
        (None, "Invalid input type.")]
    late = client.call("GET", f"/api/v1/contracts/{contract.id}/statement"
                              "?from=2026-01-01&to=2999-01-01")
    assert _errors(late)[0][0] == "to"
    assert client.call("GET", f"/api/v1/contracts/{contract.id}").json["balance"] == "0.00"

    missing = client.call("GET", "/api/v1/accounts/999999")
    assert (missing.status_code, _errors(missing)) == (404, [(None, "no account 999999")])
    assert client.call("GET", f"/api/v1/accounts/{2**70}").status_code == 404
    assert client.call("POST", "/api/v1/payments/999999/reverse",
                       {"reason": "x"}).status_code == 404
    nowhere = client.call("GET", "/api/v1/nowhere", checked=False)
    assert nowhere.status_code == 404 and nowhere.json["errors"][0]["field"] is None


def test_cursor_paging(api, factory):
    ids = [factory.subscriber(name=f"Paged {n}").id for n in range(3)]
    client = api()
    first = client.call("GET", "/api/v1/subscribers?name=paged&limit=2").json
    assert [s["id"] for s in first["items"]] == ids[:2] and first["next"]
    rest = client.call("GET", f"/api/v1/subscribers?name=paged&limit=2&after={first['next']}")
    assert [s["id"] for s in rest.json["items"]] == ids[2:] and rest.json["next"] is None
    newest = client.call("GET", "/api/v1/subscribers?name=PAGED&sort=-id&limit=1").json
    assert [s["id"] for s in newest["items"]] == ids[2:]
    assert _errors(client.call("GET", "/api/v1/subscribers?after=x1"))[0][0] == "after"


def test_reference_page(app):
    client = app.test_client()
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "POST</span> <code>/api/v1/payments</code>" in html
    assert "Default error response</td>" in html  # a shared answer, looked up
    assert "<script>" not in html and "style=" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ("reference.js", "reference.css"):
        assert client.get(f"/api/v1/static/{asset}").status_code == 200
