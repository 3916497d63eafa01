"""Forms: inputs built from the fields a plugin declares, and the core's refusals shown
next to the input they are about.

The rules of a declared field (type, required, pattern, range…) live in `core.fields`;
here every declared field becomes a plain text input (a checkbox for booleans, a select
for choices) and the core's `clean` judges the value, so the admin cannot disagree with
the CLI or a plugin's callback about what is valid.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from flask import flash
from flask_babel import gettext as _
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.form import Form

from core.errors import ValidationError
from core.fields import Field

SECRET_KEPT = "••••••"


def options(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as the choices of a select."""
    return [SelectChoice(value, label) for value, label in pairs]


def typed(field, decimal: bool = False) -> str:
    """What was typed into an input, stripped ("" when it was not sent); with `decimal`,
    a decimal comma becomes a point ("150,50" → "150.50")."""
    text = (field.data or "").strip()
    return text.replace(",", ".") if decimal else text


def reason(exc: ValidationError) -> str:
    """The refusal's reason, translated when the catalog knows the phrase."""
    return _(exc.reason)


def input_name(prefix: str, name: str) -> str:
    """The form input of declared field `name` under `prefix` ("fields", "settings")."""
    return f"{prefix}__{name}"


def _unbound(field: Field, prefix: str, value: Any):
    label = field.title
    options = {"description": field.help or None, "default": value}
    if field.type == "bool":
        return BooleanField(label, **{**options, "default": bool(value)})
    if field.choices:
        choices = options([("", "—")] + [(str(c), str(c)) for c in field.choices])
        return SelectField(label, choices=choices, **{**options, "default": "" if value is None
                                                      else str(value)})
    if field.secret:
        return PasswordField(label, description=field.help or None)
    if field.type == "dict":
        return TextAreaField(label, **{**options, "default": json.dumps(value or {}, indent=1)})
    if field.type == "list":
        return StringField(label, **{**options, "default": ", ".join(map(str, value or []))})
    return StringField(label, **{**options, "default": "" if value is None else str(value)})


def with_declared(form_class: type[Form], fields: Iterable[Field], prefix: str,
                  values: dict[str, Any] | None = None) -> type[Form]:
    """A subclass of `form_class` with an input per declared field, prefilled."""
    values = values or {}
    attrs = {input_name(prefix, f.name): _unbound(f, prefix, values.get(f.name, f.default))
             for f in fields}
    return type(f"{form_class.__name__}With{prefix.title()}", (form_class,), attrs)


def declared_data(form: Form, fields: Iterable[Field], prefix: str,
                  previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The raw values of the declared inputs, for the core to clean. An empty secret
    input keeps the previous value (secrets are never sent back to the browser)."""
    data: dict[str, Any] = {}
    for field in fields:
        raw = form[input_name(prefix, field.name)].data
        if field.secret and not raw and previous and previous.get(field.name):
            raw = previous[field.name]
        if field.type == "dict" and isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise ValidationError(f"{prefix}.{field.name}", "is not valid JSON") from None
        data[field.name] = None if raw == "" else raw
    return data


def attach_error(form: Form, exc: ValidationError, aliases: dict[str, str] | None = None
                 ) -> bool:
    """Put the refusal under the input it names ("fields.x" → fields__x, "phones.1" →
    phones); True if an input was found, else it is flashed with the field's name."""
    aliases = aliases or {}
    parts = exc.field.split(".")
    candidates = [aliases.get(exc.field), "__".join(parts), "__".join(parts[:2]),
                  aliases.get(parts[0]), parts[0]]
    for name in candidates:
        if name and name in form:
            form[name].errors = [*form[name].errors, reason(exc)]
            flash(_("Refused — %(field)s: %(reason)s", field=form[name].label.text,
                    reason=reason(exc)), "error")
            return True
    flash_refused(exc)
    return False


def flash_refused(exc: ValidationError) -> None:
    """Flash a refusal that has no input of its own on the page, naming its field."""
    flash(_("Refused — %(field)s: %(reason)s", field=exc.field, reason=reason(exc)), "error")
