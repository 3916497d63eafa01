"""A plugin's own REST resource (abonent_api_resources): served under /api/v1/, listed in
the OpenAPI document, guarded by keys and the plugins area's permissions, its errors
answered in the API's JSON."""
from __future__ import annotations

import pytest
from flask_smorest import Blueprint

from core import Account, ValidationError, hookimpl

pytestmark = pytest.mark.sqlite_only


class NotesPlugin:
    """Answers an account's login; refuses a note without text."""

    @hookimpl
    def abonent_api_resources(self, runtime):
        blp = Blueprint("notes", __name__, url_prefix="/notes", description="Notes")

        @blp.route("/<int:account_id>", methods=["GET"])
        def read(account_id):
            with runtime.session() as session:
                return {"login": session.get(Account, account_id).login}

        @blp.route("", methods=["POST"])
        def write():
            raise ValidationError("note", "is required")

        return [blp]


@pytest.fixture
def abonent_plugins():
    return [("notes", NotesPlugin())]


def test_a_plugins_resource(api, factory, app):
    account = factory.account(login="olga")
    assert "/api/v1/notes/{account_id}" in app.test_client().get(
        "/api/v1/openapi.json").get_json()["paths"]
    reader, admin = api("read-only"), api("administrator")
    assert reader.call("GET", f"/api/v1/notes/{account.id}", checked=False).json == {
        "login": "olga"}
    assert reader.call("GET", f"/api/v1/notes/{account.id}", token=None,
                       checked=False).status_code == 401
    assert reader.call("POST", "/api/v1/notes", {}, checked=False).status_code == 403
    refused = admin.call("POST", "/api/v1/notes", {}, checked=False)
    assert (refused.status_code, refused.json) == (
        422, {"errors": [{"field": "note", "message": "is required"}]})
