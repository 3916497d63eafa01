"""[server] max_upload_mb: a body over it is refused 413 by its Content-Length, before any
of it is read, with the limit named: the admin's error page, the API's JSON error."""
from __future__ import annotations

import io

import pytest

from admin.app import create_app

pytestmark = pytest.mark.sqlite_only

JUST_OVER = b"x" * (2**20 + 1)


@pytest.fixture
def abonent_config():
    return {"server": {"max_upload_mb": "1"}}


def test_an_admin_upload_over_the_limit_is_a_page_naming_it(admin_client):
    client = admin_client()
    refused = client.post("/admin/import/check", {"file": (io.BytesIO(JUST_OVER), "big.csv")},
                          content_type="multipart/form-data")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 413
    assert 'data-status="413"' in page and "larger than 1 MB" in page and "max_upload_mb" in page


def test_an_api_body_over_the_limit_is_the_json_error_naming_it(runtime):
    refused = create_app(runtime).test_client().post(
        "/api/v1/payments", data=JUST_OVER, content_type="application/json",
        headers={"Authorization": "Bearer nothing-checked-before-the-length"})
    assert refused.status_code == 413
    assert refused.json == {"errors": [{
        "field": None,
        "message": "The request is larger than 1 MB, the most this server takes."}]}
