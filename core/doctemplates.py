"""The templates of the printed documents (invoice, act, statement): the shipped defaults
in core/templates/, or the operator's edited one stored in the database.

Every template is rendered in Jinja's sandbox with autoescaping on: a template an
operator typed can print what it is given but cannot reach Python's internals
(`{{ ''.__class__ }}` is refused), and a subscriber named `<script>` is printed, not
run. Variables are strict, so a misspelled name is an error rather than an empty cell.
A template that does not compile or render is refused with a `ValidationError` on
"source" that gives the line, and is never saved; saving renders it first with
`sample_context` (made the same way as a real document's), so a saved template renders.
"""
from __future__ import annotations

from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy.orm import Session

from core.audit import audit
from core.clock import now
from core.errors import ValidationError
from core.models import DocumentTemplate
from core.models.documents import DOCUMENT_KINDS
from core.runtime import actor_of

#: the largest template an operator may store
MAX_SOURCE = 200_000
#: the name an edited template's lines are reported under (Jinja's own for a string)
EDITED = "<template>"


def quantity_text(value) -> str:
    """A quantity without trailing zeros: 6.000000 → "6", 2.500000 → "2.5"."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def money_text(value) -> str:
    return f"{value:.2f}"


SANDBOX = SandboxedEnvironment(
    loader=jinja2.PackageLoader("core", "templates"), autoescape=True,
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
SANDBOX.filters.update(quantity=quantity_text, money=money_text)


def check_kind(kind: Any) -> str:
    if kind not in DOCUMENT_KINDS:
        raise ValidationError("kind", f"must be one of {', '.join(DOCUMENT_KINDS)}")
    return kind


def default_source(kind: str) -> str:
    """The shipped template of `kind`, as text (what "reset to default" brings back)."""
    return SANDBOX.loader.get_source(SANDBOX, f"{check_kind(kind)}.html")[0]


def stored(session: Session, kind: str) -> DocumentTemplate | None:
    return session.get(DocumentTemplate, check_kind(kind))


def _line(exc: BaseException) -> int | None:
    """The line of the edited template where rendering failed (Jinja rewrites the
    traceback so that a template's frames carry its own line numbers)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == EDITED:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _refusal(exc: BaseException, line: int | None) -> ValidationError:
    what = str(exc).strip() or type(exc).__name__
    if isinstance(exc, SecurityError):
        what += " (not allowed in a document template)"
    return ValidationError("source", f"line {line}: {what}" if line else what)


def render_source(source: str, context: dict[str, Any]) -> str:
    """Render template text in the sandbox; ValidationError("source", "line N: …") for a
    syntax error, an undefined name, a refused attribute or any error while rendering."""
    try:
        template = SANDBOX.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise _refusal(exc, exc.lineno) from None
    try:
        return template.render(**context)
    except jinja2.TemplateSyntaxError as exc:  # in a template it includes
        raise _refusal(exc, exc.lineno) from None
    except Exception as exc:  # noqa: BLE001 - whatever a typed template does is its error
        raise _refusal(exc, _line(exc)) from None


def render(session: Session, kind: str, context: dict[str, Any]) -> str:
    """The document `kind` rendered from the operator's template, else the default."""
    edited = stored(session, kind)
    if edited is None:
        return SANDBOX.get_template(f"{kind}.html").render(**context)
    return render_source(edited.source, context)


def save(session: Session, kind: str, source: Any, sample: dict[str, Any]) -> DocumentTemplate:
    """Store the operator's template of `kind` once it renders `sample` (audited)."""
    if not isinstance(source, str) or not source.strip():
        raise ValidationError("source", "is required")
    if len(source) > MAX_SOURCE:
        raise ValidationError("source", f"is longer than {MAX_SOURCE} characters")
    source = source.replace("\r\n", "\n")
    render_source(source, sample)
    edited = stored(session, kind)
    old = edited.source if edited is not None else default_source(kind)
    if edited is None:
        edited = DocumentTemplate(kind=kind, source=source, updated_by=actor_of(session))
        session.add(edited)
    edited.source, edited.updated_at, edited.updated_by = source, now(), actor_of(session)
    audit(session, "template_saved", "document_template", kind,
          {"lines": {"old": old.count("\n") + 1, "new": source.count("\n") + 1}})
    return edited


def reset(session: Session, kind: str) -> bool:
    """Go back to the shipped template of `kind` (audited); False when it was not edited."""
    edited = stored(session, kind)
    if edited is None:
        return False
    session.delete(edited)
    audit(session, "template_reset", "document_template", kind, {})
    return True
