"""Roles: what each built-in role sees and may do, plugin-added views under the same
rules, and a crawler over every admin URL (anonymous: redirected to the login; read-only:
no POST succeeds)."""
from __future__ import annotations

import re

import pytest
from flask_admin import BaseView, expose

from core.errors import PluginError


class NotesView(BaseView):
    """A plugin's page, as a plugin would add it."""

    @expose("/")
    def index(self):
        return "notes of the TV platform"

    @expose("/add", methods=("POST",))
    def add(self):
        return "note added"


class NotesPlugin:
    def abonent_admin_views(self, runtime):
        return [NotesView(name="TV notes", category="TV", endpoint="tvnotes")]


@pytest.fixture
def abonent_plugins():
    return [("tvnotes", NotesPlugin())]


def _menu(page: str) -> set[str]:
    return set(re.findall(r'class="dropdown-item[^"]*"\s+href="/admin/([a-z]+)/"', page))


def test_each_role_sees_its_own_menu(login_as):
    admin = _menu(login_as("administrator", "admin").text("/admin/"))
    assert {"account", "payment", "operator", "manager", "role", "audit", "outbox", "tvnotes",
            "jobs", "plugins"} <= admin
    cashier = _menu(login_as("cashier").text("/admin/"))
    assert cashier == {"subscriber", "contract", "account", "subscription", "block", "payment",
                       "charge", "invoice", "profile"}
    readonly = _menu(login_as("read-only").text("/admin/"))
    assert "manager" not in readonly and "role" not in readonly and "account" in readonly


def test_forbidden_pages_and_buttons(login_as, factory):
    account = factory.account()
    cashier = login_as("cashier")
    for url in ("/admin/operator/", "/admin/manager/", "/admin/outbox/", "/admin/audit/",
                "/admin/tvnotes/", "/admin/account/new/", f"/admin/account/edit/?id={account.id}"):
        response = cashier.get(url)
        assert response.status_code == 403, url
        assert "Your role does not allow this page or action" in response.get_data(as_text=True)
    accounts = cashier.text("/admin/account/")
    assert "/admin/account/new/" not in accounts and "/admin/account/edit/" not in accounts
    readonly = login_as("read-only")
    assert readonly.get("/admin/subscriber/new/").status_code == 403
    assert "/admin/subscriber/new/" not in readonly.text("/admin/subscriber/")
    assert readonly.text("/admin/tvnotes/") == "notes of the TV platform"
    assert readonly.post("/admin/tvnotes/add").status_code == 403


def test_managers_may_use_plugin_pages(login_as):
    manager = login_as("manager")
    assert manager.post("/admin/tvnotes/add").get_data(as_text=True) == "note added"
    assert manager.get("/admin/role/").status_code == 403


def _urls(app, ids: dict[str, int]):
    """Every admin URL rule with its parameters filled in, and its methods."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint == "admin.static":
            continue
        values = {arg: ids.get(arg, 1) if rule._converters[arg].__class__.__name__ ==
                  "IntegerConverter" else "admin" for arg in rule.arguments}
        yield rule.rule, rule.build(values)[1], rule.methods - {"HEAD", "OPTIONS"}


def test_crawler_every_admin_url_needs_a_login(app, new_client, set_up, factory):
    account = factory.account()
    ids = {"account_id": account.id, "contract_id": account.contract_id}
    anonymous = new_client()
    token = anonymous.token("/login")
    seen = 0
    for rule, url, methods in _urls(app, ids):
        if "GET" in methods:
            response = anonymous.get(url)
        else:
            response = anonymous.http.post(url, data={"csrf_token": token})
        assert response.status_code == 302, (rule, response.status_code)
        assert response.headers["Location"].startswith("/login?next="), rule
        seen += 1
    assert seen > 60


#: POST endpoints a read-only manager may use: only its own language, password and
#: second factor
OWN_PROFILE = ("/admin/profile/language", "/admin/profile/password",
               "/admin/profile/second-factor")


def test_crawler_read_only_cannot_post_anywhere(app, login_as, factory, runtime, counts):
    account = factory.account()
    ids = {"account_id": account.id, "contract_id": account.contract_id,
           "subscriber_id": account.contract.subscriber_id, "manager_id": 1, "invoice_id": 1}
    readonly = login_as("read-only")
    before = counts()
    posted = 0
    for rule, url, methods in _urls(app, ids):
        if "GET" in methods:
            status = readonly.get(url).status_code
            assert status in (200, 302, 403, 404), (rule, status)
        if "POST" in methods and url not in OWN_PROFILE:
            response = readonly.post(url, {"id": account.id, "name": "x", "login": "x"})
            assert response.status_code == 403, (rule, response.status_code)
            posted += 1
    assert posted > 25
    after = counts()
    after.pop("audit_log"), before.pop("audit_log")  # logging in is audited, nothing else
    assert after == before


class BrokenViews:
    def abonent_admin_views(self, runtime):
        raise RuntimeError("template missing")


class ClashingViews:
    def abonent_admin_views(self, runtime):
        return [NotesView(name="again", endpoint="tvnotes")]


@pytest.mark.parametrize("plugin, says", [(BrokenViews, "template missing"),
                                          (ClashingViews, "'tvnotes' cannot be added")])
def test_a_bad_view_registration_stops_start_up_naming_the_plugin(runtime, plugin, says):
    from admin.app import create_app
    runtime.pm.register(plugin(), name="bad")
    with pytest.raises(PluginError, match=f"plugin 'bad'.*{says}"):
        create_app(runtime)


#: hand-typed or tampered addresses: each must get a page or a plain refusal, never a 500
ODD_URLS = (
    "/admin/account/?search=%00", "/admin/account/?search=" + "a" * 5000,
    "/admin/account/?page=-1", "/admin/account/?page=abc", "/admin/account/?sort=99",
    "/admin/account/?flt0_0=abc", "/admin/account/?flt2_0=zz", "/admin/subscriber/?search=%25_%5C",
    "/admin/outbox/?page=abc&account=nobody", "/admin/outbox/?state=nope", "/admin/search/?q=%00",
    "/admin/audit/?search=account:x", "/admin/account/edit/?id=abc", "/admin/account/edit/?id=99999",
    "/admin/card/99999", "/admin/payment/?flt0_0=x", "/admin/usage/?search=%25",
    "/admin/invoice/?search=_", "/admin/subscriber/card/0", "/admin/jobs/run/nope",
    "/admin/account/new/?agent_id=abc&contract_id=x", "/admin/role/new/?copy=abc",
)


def test_odd_addresses_never_answer_500(client, factory):
    factory.account()
    for url in ODD_URLS:
        status = client.get(url).status_code
        assert status in (200, 302, 400, 404, 405), (url, status)
    refused = client.post("/admin/card/1/payment", {"payment-amount": "1\x00"})
    assert refused.status_code == 400
    assert "NUL character" in refused.get_data(as_text=True)
