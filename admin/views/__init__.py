"""The admin's views and menu, and the views plugins add through `abonent_admin_views`.

A plugin's view joins the menu under the category it gives; it belongs to the "plugins"
area: reading it needs `plugins:view`, posting to it `plugins:edit` (the check is put
on the view instance, so a plugin cannot forget it).
"""
from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin.views.accounts import AccountView, BlockView, SubscriptionView
from admin.views.apikeys import ApiKeysView
from admin.views.base import SAFE_METHODS
from admin.views.card import AccountCard
from admin.views.customers import ContractView, SubscriberView
from admin.views.dashboard import DashboardView
from admin.views.documents import MailLogView, ProviderView, TemplatesView
from admin.views.gateways import GatewaysView
from admin.views.helpdesk import HelpDeskView
from admin.views.imports import ImportView
from admin.views.ledger import ChargeView, InvoiceView, PaymentView, UsageView
from admin.views.lookup import LookupView
from admin.views.operations import JobsView, OutboxView, PluginsView
from admin.views.profile import ProfileView
from admin.views.reports import ReportsView
from admin.views.settings import (
    AgentView,
    NumberPlanView,
    OperatorView,
    SensorTypeView,
    ServiceView,
    TariffView,
    UnitView,
)
from admin.views.staff import AuditView, ManagerView, RoleView
from admin.views.webhooks import WebhooksView
from core.errors import PluginError
from core.models import (
    Account,
    Agent,
    AuditEntry,
    Block,
    Charge,
    Contract,
    Invoice,
    MailMessage,
    Manager,
    NumberPlan,
    Operator,
    Payment,
    Role,
    SensorType,
    Service,
    Subscriber,
    Subscription,
    Tariff,
    Unit,
    UsageRecord,
)
from core.runtime import Runtime


def build_admin(app, runtime: Runtime) -> Admin:
    admin = Admin(app, name="Abonent", index_view=DashboardView(),
                  theme=Bootstrap4Theme(base_template="abonent/base.html", fluid=True))
    customers, money, settings = _l("Customers"), _l("Money"), _l("Settings")
    operations, staff = _l("Operations"), _l("Staff")
    admin.add_views(
        SubscriberView(Subscriber, name=_l("Subscribers"), category=customers,
                       endpoint="subscriber"),
        ContractView(Contract, name=_l("Contracts"), category=customers, endpoint="contract"),
        AccountView(Account, name=_l("Accounts"), category=customers, endpoint="account"),
        SubscriptionView(Subscription, name=_l("Subscriptions"), category=customers,
                         endpoint="subscription"),
        BlockView(Block, name=_l("Blocks"), category=customers, endpoint="block"),
        ImportView(name=_l("Import"), category=customers, endpoint="import_subscribers",
                   url="/admin/import"),
        PaymentView(Payment, name=_l("Payments"), category=money, endpoint="payment"),
        ChargeView(Charge, name=_l("Charges"), category=money, endpoint="charge"),
        UsageView(UsageRecord, name=_l("Usage records"), category=money, endpoint="usage"),
        InvoiceView(Invoice, name=_l("Invoices"), category=money, endpoint="invoice"),
        MailLogView(MailMessage, name=_l("Mail log"), category=money, endpoint="mail_log"),
        ReportsView(name=_l("Reports"), endpoint="reports", url="/admin/reports"),
        HelpDeskView(name=_l("HelpDesk"), endpoint="helpdesk", url="/admin/helpdesk"),
        OperatorView(Operator, name=_l("Operator"), category=settings, endpoint="operator"),
        ProviderView(name=_l("Provider details"), category=settings, endpoint="provider",
                     url="/admin/provider"),
        TemplatesView(name=_l("Document templates"), category=settings, endpoint="templates",
                      url="/admin/templates"),
        NumberPlanView(NumberPlan, name=_l("Number plans"), category=settings,
                       endpoint="numberplan"),
        AgentView(Agent, name=_l("Agents"), category=settings, endpoint="agent"),
        TariffView(Tariff, name=_l("Tariffs"), category=settings, endpoint="tariff"),
        ServiceView(Service, name=_l("Services"), category=settings, endpoint="service"),
        UnitView(Unit, name=_l("Units"), category=settings, endpoint="unit"),
        SensorTypeView(SensorType, name=_l("Sensor types"), category=settings,
                       endpoint="sensortype"),
        ApiKeysView(name=_l("API keys"), category=settings, endpoint="apikeys",
                    url="/admin/apikeys"),
        WebhooksView(name=_l("Webhooks"), category=settings, endpoint="webhooks",
                     url="/admin/webhooks"),
        GatewaysView(name=_l("Payment gateways"), category=settings, endpoint="gateways",
                     url="/admin/gateways"),
        OutboxView(name=_l("Event outbox"), category=operations, endpoint="outbox"),
        JobsView(name=_l("Scheduled jobs"), category=operations, endpoint="jobs"),
        PluginsView(name=_l("Plugins"), category=operations, endpoint="plugins"),
        AuditView(AuditEntry, name=_l("Audit log"), category=operations, endpoint="audit"),
        ManagerView(Manager, name=_l("Managers"), category=staff, endpoint="manager"),
        RoleView(Role, name=_l("Roles"), category=staff, endpoint="role"),
        AccountCard(name=_l("Account card"), endpoint="card", url="/admin/card"),
        LookupView(name=_l("Search"), endpoint="lookup", url="/admin/search"),
        ProfileView(name=_l("My profile"), endpoint="profile", url="/admin/profile"),
    )
    app.extensions["abonent_admin"]["plugin_views"] = add_plugin_views(admin, runtime)
    return admin


def _guard(view) -> None:
    """Put the "plugins" area's checks on a plugin's view instance."""
    handle = view._handle_view

    def is_accessible() -> bool:
        return current_user.is_authenticated and current_user.can("plugins:view")

    def guarded(name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        needed = "plugins:view" if request.method in SAFE_METHODS else "plugins:edit"
        if not (current_user.can("plugins:view") and current_user.can(needed)):
            abort(403, description=needed)
        return handle(name, **kwargs)

    view.is_accessible = is_accessible
    view._handle_view = guarded


def add_plugin_views(admin: Admin, runtime: Runtime) -> dict[str, list[str]]:
    """Add every plugin's views; returns {plugin: [view names]} for the plugins page. A
    failing registration stops start-up naming the plugin, as any registration hook."""
    added: dict[str, list[str]] = {}
    for impl in runtime.pm.impls("abonent_admin_views"):
        name = impl.plugin_name
        try:
            views = runtime.pm.call_one("abonent_admin_views", name, runtime=runtime) or []
        except Exception as exc:
            raise PluginError(f"plugin {name!r}: abonent_admin_views failed: "
                              f"{type(exc).__name__}: {exc}") from exc
        for view in views:
            _guard(view)
            try:
                admin.add_view(view)
            except ValueError as exc:  # Flask refuses a second blueprint of the same name
                raise PluginError(f"plugin {name!r}: admin view {view.endpoint!r} cannot be "
                                  f"added: {exc}") from exc
            added.setdefault(name, []).append(str(view.name))
    return added
