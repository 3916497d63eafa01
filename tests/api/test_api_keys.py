"""API keys: a request without a live key is 401, without the permission 403, over the
rate limit 429 with Retry-After; the token is shown once and stored only as its hash;
last use is recorded; keys are made and revoked in the admin and on the command line."""
from __future__ import annotations

import hashlib
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from admin.cli import cli
from core.models import ApiKey, AuditEntry

pytestmark = pytest.mark.sqlite_only


def _key(runtime, name: str) -> ApiKey:
    with runtime.session() as session:
        return session.scalars(select(ApiKey).where(ApiKey.name == name)).one()


def test_refusals_and_last_use(api, runtime, factory):
    contract = factory.contract()
    reader = api("read-only")
    assert reader.call("GET", "/api/v1/subscribers", token=None).status_code == 401
    assert reader.call("GET", "/api/v1/subscribers", token="abk_wrong").status_code == 401
    assert _key(runtime, reader.name).last_used_at is None
    assert reader.call("GET", f"/api/v1/contracts/{contract.id}").status_code == 200
    assert _key(runtime, reader.name).last_used_at is not None
    refused = reader.call("POST", "/api/v1/payments", {"contract_id": contract.id,
                                                        "amount": "10.00"})
    assert refused.status_code == 403
    assert refused.json["errors"][0]["message"].endswith("payments:create")
    assert reader.call("GET", f"/api/v1/contracts/{contract.id}").json["balance"] == "0.00"

    limited = api("read-only", rate_limit=2)
    assert [limited.call("GET", "/api/v1/tariffs").status_code for _ in range(3)] == [
        200, 200, 429]
    over = limited.call("GET", "/api/v1/tariffs")
    assert 1 <= int(over.headers["Retry-After"]) <= 60


def test_command_line_and_revoke(runtime, app, openapi):
    env = {"ABONENT_DATABASE_URL": runtime.settings.database_url,
           "ABONENT_VAR_DIR": str(runtime.settings.var_dir), "ABONENT_CONFIG": "",
           "ABONENT_PLUGINS__DISABLED": "tv24,wialon,jambox,nas_oss"}
    runner = CliRunner()
    made = runner.invoke(cli, ["apikey", "create", "crm", "--role", "cashier"], env=env)
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("abk_")
    key = _key(runtime, "crm")
    assert key.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str([getattr(key, c.key) for c in ApiKey.__table__.columns])
    assert token not in runner.invoke(cli, ["apikey", "list"], env=env).output

    client = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/payments", headers=bearer).status_code == 200
    assert runner.invoke(cli, ["apikey", "revoke", "crm"], env=env).exit_code == 0
    assert client.get("/api/v1/payments", headers=bearer).status_code == 401
    listed = runner.invoke(cli, ["apikey", "list"], env=env).output
    assert re.search(r"crm\s+cashier .* REVOKED", listed)
    again = runner.invoke(cli, ["apikey", "create", "crm", "--role", "nobody"], env=env)
    assert again.exit_code == 1 and "role: no role 'nobody'" in again.output


def test_admin_page_shows_the_token_once(admin_client, runtime, app):
    admin = admin_client("administrator")
    page = admin.post("/admin/apikeys/create", {"name": "website", "role": "manager",
                                                "rate_limit": "120"})
    html = page.get_data(as_text=True)
    token = re.search(r"<code>(abk_[^<]+)</code>", html).group(1)
    key = _key(runtime, "website")
    assert (key.role.name, key.rate_limit) == ("manager", 120)
    assert key.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in admin.text("/admin/apikeys/")
    assert app.test_client().get("/api/v1/accounts", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200

    taken = admin.post("/admin/apikeys/create", {"name": "website", "role": "manager",
                                                 "rate_limit": "120"})
    assert "an API key named &#39;website&#39; exists" in taken.get_data(as_text=True)
    manager = admin_client("manager")
    assert manager.post(f"/admin/apikeys/{key.id}/revoke").status_code == 403
    admin.post(f"/admin/apikeys/{key.id}/revoke")
    assert _key(runtime, "website").revoked_at is not None
    with runtime.session() as session:
        assert list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.object_type == "api_key"))) == ["create", "revoke"]
