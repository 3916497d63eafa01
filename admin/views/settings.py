"""Settings: the operator (name, currency, VAT…), number plans, agents with the settings
form their plugin's agent type declares, tariffs, catalog services and the dictionaries
they use. These are plain rows the views write with the audit log (secrets masked), and
no events but one: a tariff edit that changes what plugins deliver (its device limit)
emits `tariff_updated` for its accounts. Nothing is deleted, old tariffs and services
are archived."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g, request
from flask_admin.helpers import get_form_data
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired

from admin.db import runtime
from admin.formatting import money
from admin.forms import declared_data, options, typed, with_declared
from admin.views.base import AuditedModelView, ModelForm
from core.errors import ValidationError
from core.fields import mask_secrets
from core.models import (
    Agent,
    NumberPlan,
    SensorType,
    Service,
    Tariff,
    TariffService,
    Unit,
)
from core.models.catalog import CHARGE_METHODS, SERVICE_KINDS
from core.money import money as to_money
from core.money import to_decimal
from core.services import inputs, tariffs
from core.services.customers import MAX_GRACE_DAYS


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


def _choices(session, model):
    """An optional reference: "—" or one of the rows of `model`, by name."""
    return options([("", "—")] + list(session.execute(select(model.id, model.name)
                                                       .order_by(model.name)).all()))


class SettingsView(AuditedModelView):
    area = "settings"
    actions_needed = {"create": "edit", "edit": "edit", "delete": "edit"}
    allow_create = allow_edit = True
    column_default_sort = ("id", False)


# --- operator and number plans --------------------------------------------------------

class OperatorForm(ModelForm):
    name = StringField(_l("Name"), validators=[InputRequired()])
    currency = StringField(_l("Currency"), default="RUB",
                           description=_l("ISO code, e.g. RUB, PLN."))
    vat_rate = StringField(_l("VAT, %"), default="0")
    prices_include_vat = BooleanField(_l("Prices include VAT"), default=True)
    timezone = StringField(_l("Time zone"), default="UTC", description=_l("e.g. Europe/Moscow"))
    grace_days = StringField(_l("Grace days before a balance block"), default="0")
    grace_amount = StringField(_l("Grace amount below the credit limit"), default="0")
    contract_plan_id = SelectField(_l("Contract numbers"), coerce=_optional_int)
    invoice_plan_id = SelectField(_l("Invoice numbers"), coerce=_optional_int)


class OperatorView(SettingsView):
    form = OperatorForm
    column_list = ("name", "currency", "vat_rate", "prices_include_vat", "timezone", "grace_days",
                   "grace_amount")
    column_labels = {"name": _l("Name"), "currency": _l("Currency"), "vat_rate": _l("VAT, %"),
                     "prices_include_vat": _l("Prices include VAT"), "timezone": _l("Time zone"),
                     "grace_days": _l("Grace days"), "grace_amount": _l("Grace amount")}

    def _with_plans(self, form):
        choices = _choices(self.session, NumberPlan)
        form.contract_plan_id.choices = form.invoice_plan_id.choices = choices
        return form

    def create_form(self, obj=None):
        return self._with_plans(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._with_plans(super().edit_form(obj))

    def check(self, form, model, is_created):
        model.name = inputs.text(form.name.data, "name", max_len=200)
        currency = (form.currency.data or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise ValidationError("currency", "must be a three-letter code such as RUB")
        model.currency = currency
        vat = to_decimal(typed(form.vat_rate, decimal=True), "vat_rate", places=6)
        if vat > 100:
            raise ValidationError("vat_rate", "must be at most 100")
        model.vat_rate = vat
        try:
            ZoneInfo(typed(form.timezone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError("timezone",
                                  "is not a known time zone (e.g. Europe/Moscow)") from None
        model.timezone = typed(form.timezone)
        model.grace_days = inputs.integer(typed(form.grace_days), "grace_days",
                                          high=MAX_GRACE_DAYS)
        model.grace_amount = to_money(typed(form.grace_amount, decimal=True), "grace_amount")


class NumberPlanForm(ModelForm):
    name = StringField(_l("Name"), validators=[InputRequired()])
    pattern = StringField(_l("Pattern"), default="{seq}",
                          description=_l("{seq}, {year}, {month}; e.g. INV-{year}-{seq:06d}"))
    reset = SelectField(_l("Counter starts again"), choices=options([
        ("never", _l("never")), ("yearly", _l("every year")), ("monthly", _l("every month"))]))


class NumberPlanView(SettingsView):
    form = NumberPlanForm
    column_list = ("name", "pattern", "reset")
    column_labels = {"name": _l("Name"), "pattern": _l("Pattern"),
                     "reset": _l("Counter starts again")}

    def check(self, form, model, is_created):
        model.name = inputs.text(form.name.data, "name", max_len=100)
        pattern = inputs.text(form.pattern.data, "pattern", max_len=100)
        if "{seq" not in pattern:
            raise ValidationError("pattern", "must contain {seq}")
        try:
            pattern.format(seq=1, year=2000, month=1)
        except (KeyError, ValueError, IndexError) as exc:
            raise ValidationError("pattern", f"is not a valid pattern: {exc}") from None
        model.pattern = pattern


# --- agents -----------------------------------------------------------------------------

class AgentForm(ModelForm):
    name = StringField(_l("Name"), validators=[InputRequired()])
    type = SelectField(_l("Type"))
    enabled = BooleanField(_l("Enabled"), default=True)


class AgentView(SettingsView):
    form = AgentForm
    form_widget_args = {"type": {"data-reload": "type"}}
    column_list = ("name", "type", "enabled")
    column_labels = {"name": _l("Name"), "type": _l("Type"), "enabled": _l("Enabled")}
    column_formatters = {"type": lambda v, c, m, n: _type_title(m.type)}
    create_template = edit_template = "abonent/agent_form.html"
    error_aliases = {"agent_type": "type"}

    def _type(self, model: Agent | None) -> str | None:
        types = runtime().agent_types
        chosen = request.form.get("type") or request.args.get("type")
        if model is not None:
            return model.type
        if chosen in types:
            return chosen
        return next(iter(sorted(types)), None)

    def _build(self, model: Agent | None):
        code = self._type(model)
        agent_type = runtime().agent_types.get(code)
        fields = agent_type.settings if agent_type else ()
        values = dict(model.settings or {}) if model is not None else {}
        form = with_declared(AgentForm, fields, "settings", values)(get_form_data(), obj=model)
        types = [(c, t.title) for c, t in sorted(runtime().agent_types.items())]
        if model is not None and model.type not in runtime().agent_types:
            types.append((model.type, model.type))
        form.type.choices = options(types)
        form.type.data = code
        g.agent_fields = fields
        return form

    def create_form(self, obj=None):
        return self._build(None)

    def edit_form(self, obj=None):
        return self._build(obj)

    def check(self, form, model, is_created):
        model.name = inputs.text(form.name.data, "name", max_len=100)
        agent_type = runtime().agent_type(form.type.data, "type")
        previous = dict(model.settings or {})
        model.settings = agent_type.clean_settings(
            declared_data(form, g.agent_fields, "settings", previous))

    def audit_changes(self, model, is_created):
        changes = super().audit_changes(model, is_created)
        agent_type = runtime().agent_types.get(model.type)
        fields = agent_type.settings if agent_type else ()
        if "settings" in changes:
            value = changes["settings"]
            changes["settings"] = (mask_secrets(fields, value) if is_created else
                                   {k: mask_secrets(fields, v or {}) for k, v in value.items()})
        return changes


def _type_title(code: str) -> str:
    agent_type = runtime().agent_types.get(code)
    if agent_type is None:
        return _("%(code)s (not installed)", code=code)
    return f"{agent_type.title} ({code})"


# --- tariffs and services ----------------------------------------------------------------

class TariffForm(ModelForm):
    name = StringField(_l("Name"), validators=[InputRequired()])
    description = TextAreaField(_l("Description"))
    base_services = SelectMultipleField(
        _l("Base services"), coerce=int,
        description=_l("Subscribed automatically with the account."))
    other_services = SelectMultipleField(_l("Other services offered"), coerce=int)
    device_limit = StringField(_l("Device limit"))
    charge_when_balance = BooleanField(_l("Charge while blocked for balance"))
    charge_when_admin = BooleanField(_l("Charge while blocked by a manager"))
    charge_when_voluntary = BooleanField(_l("Charge during a voluntary block"))
    charge_when_disabled = BooleanField(_l("Charge while switched off"))
    self_service = BooleanField(_l("Self-service (subscribers may choose it in the cabinet)"))
    archived = BooleanField(_l("Archived (not offered to new accounts)"))


class TariffView(SettingsView):
    form = TariffForm
    column_list = ("name", "base", "other", "device_limit", "self_service", "archived")
    column_labels = {"name": _l("Name"), "base": _l("Base services"),
                     "other": _l("Other services"), "device_limit": _l("Device limit"),
                     "self_service": _l("Self-service"), "archived": _l("Archived")}
    column_formatters = {
        "base": lambda v, c, m, n: ", ".join(s.name for s in m.base_services),
        "other": lambda v, c, m, n: ", ".join(i.service.name for i in m.items if not i.is_base),
    }

    def _with_services(self, form, model: Tariff | None):
        choices = options((s.id, s.name) for s in self.session.scalars(
            select(Service).where(Service.archived.is_(False)).order_by(Service.name)))
        form.base_services.choices = form.other_services.choices = choices
        if model is not None and request.method == "GET":
            form.base_services.data = [i.service_id for i in model.items if i.is_base]
            form.other_services.data = [i.service_id for i in model.items if not i.is_base]
        return form

    def create_form(self, obj=None):
        return self._with_services(super().create_form(obj), None)

    def edit_form(self, obj=None):
        return self._with_services(super().edit_form(obj), obj)

    def check(self, form, model, is_created):
        model.name = inputs.text(form.name.data, "name", max_len=200)
        model.description = inputs.text(form.description.data, "description", required=False,
                                        max_len=1000)
        limit = typed(form.device_limit)
        model.device_limit = inputs.integer(limit, "device_limit") if limit else None
        base = set(form.base_services.data or [])
        wanted = {**{sid: False for sid in form.other_services.data or []},
                  **{sid: True for sid in base}}
        if not base:
            raise ValidationError("base_services", "a tariff needs at least one base service")
        g.tariff_services = {"old": sorted((i.service_id, i.is_base) for i in model.items),
                             "new": sorted(wanted.items())}
        for item in list(model.items):
            if item.service_id not in wanted:
                model.items.remove(item)
            else:
                item.is_base = wanted.pop(item.service_id)
        for service_id, is_base in wanted.items():
            model.items.append(TariffService(service_id=service_id, is_base=is_base))
        tariffs.announce_edit(self.session, model)  # a new device limit reaches the platforms

    def audit_changes(self, model, is_created):
        changes = super().audit_changes(model, is_created)
        services = g.pop("tariff_services", None)
        if services and (is_created or services["old"] != services["new"]):
            changes["services"] = services["new"] if is_created else services
        return changes


class ServiceForm(ModelForm):
    name = StringField(_l("Name"), validators=[InputRequired()])
    kind = SelectField(_l("Kind"), choices=options((k, _l(k)) for k in SERVICE_KINDS))
    method = SelectField(_l("Charged"),
                         choices=options([("", "—")] + [(m, _l(m)) for m in CHARGE_METHODS]))
    price = StringField(_l("Price"), default="0")
    price_per_unit = StringField(_l("Price per unit (counter services)"))
    unit_id = SelectField(_l("Unit"), coerce=_optional_int)
    sensor_type_id = SelectField(_l("Sensor type"), coerce=_optional_int)
    agent_type = SelectField(_l("Agent type"))
    external_code = StringField(_l("External code (platform's id)"))
    activate_string = StringField(_l("Activate string"))
    deactivate_string = StringField(_l("Deactivate string"))
    archived = BooleanField(_l("Archived"))


class ServiceView(SettingsView):
    form = ServiceForm
    column_list = ("name", "kind", "method", "price", "price_per_unit", "agent_type",
                   "external_code", "archived")
    column_labels = {"name": _l("Name"), "kind": _l("Kind"), "method": _l("Charged"),
                     "price": _l("Price"), "price_per_unit": _l("Per unit"),
                     "agent_type": _l("Agent type"), "external_code": _l("External code"),
                     "archived": _l("Archived")}
    column_searchable_list = ("name",)
    column_formatters = {"price": lambda v, c, m, n: money(m.price),
                         "kind": lambda v, c, m, n: _(m.kind),
                         "method": lambda v, c, m, n: _(m.method) if m.method else ""}

    def _with_choices(self, form):
        form.unit_id.choices = _choices(self.session, Unit)
        form.sensor_type_id.choices = _choices(self.session, SensorType)
        form.agent_type.choices = options([("", _("any"))] + [
            (c, t.title) for c, t in sorted(runtime().agent_types.items())])
        return form

    def create_form(self, obj=None):
        return self._with_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._with_choices(super().edit_form(obj))

    def check(self, form, model, is_created):
        model.name = inputs.text(form.name.data, "name", max_len=200)
        model.price = to_money(typed(form.price, decimal=True) or "0", "price")
        model.method = form.method.data or None
        model.agent_type = form.agent_type.data or None
        for key in ("external_code", "activate_string", "deactivate_string"):
            setattr(model, key, inputs.text(getattr(form, key).data, key, required=False,
                                            max_len=100 if key == "external_code" else 500))
        per_unit = typed(form.price_per_unit, decimal=True)
        model.price_per_unit = (to_decimal(per_unit, "price_per_unit", places=6)
                                if per_unit else None)
        if model.kind == "periodic" and model.method is None:
            raise ValidationError("method", "a periodic service is charged daily or monthly")
        if model.kind != "periodic":
            model.method = None
        unpriced = model.price_per_unit is None or model.sensor_type_id is None
        if model.kind == "counter" and unpriced:
            raise ValidationError("price_per_unit", "a counter service needs a price per unit "
                                                    "and a sensor type")


class UnitForm(ModelForm):
    id = StringField(_l("Code"), validators=[InputRequired()], description=_l("e.g. 5 for pcs"))
    name = StringField(_l("Name"), validators=[InputRequired()])


class UnitView(SettingsView):
    form = UnitForm
    column_list = ("id", "name")
    column_labels = {"id": _l("Code"), "name": _l("Name")}

    def check(self, form, model, is_created):
        model.id = inputs.integer(form.id.data, "id")
        model.name = inputs.text(form.name.data, "name", max_len=30)


class SensorTypeForm(ModelForm):
    name = StringField(_l("Name"), validators=[InputRequired()], description=_l("e.g. sensor_1"))


class SensorTypeView(SettingsView):
    form = SensorTypeForm
    column_list = ("id", "name")
    column_labels = {"id": "#", "name": _l("Name")}

    def check(self, form, model, is_created):
        model.name = inputs.text(form.name.data, "name", max_len=100)
