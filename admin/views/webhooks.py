"""Settings → Webhooks: the URLs that get chosen events, signed (core.webhooks,
docs/webhooks.md). An administrator adds one (its secret shown on the answer page only),
changes its events, URL or whether it is enabled, rotates its secret, sends it a test
event, removes it, and reads the log of attempts with their answers.

An endpoint sends subscribers' data out of the billing, as an API key lets another system
read it: the page belongs to the "staff" area, as Settings → API keys does (staff:view to
see, staff:edit to change).
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import InputRequired

from admin.db import manager_session, runtime
from admin.forms import attach_error, flash_refused
from admin.views.base import GuardedView, key, needs
from core import webhooks
from core.errors import ValidationError
from core.models import WebhookEndpoint
from core.webhooks_delivery import send_test
from plugins.webhooks import sender_of


class EndpointForm(FlaskForm):
    url = StringField(_l("URL"), validators=[InputRequired()])
    description = StringField(_l("Description"))
    events = SelectMultipleField(_l("Events"), validators=[InputRequired()])
    enabled = BooleanField(_l("Enabled"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events.choices = [(webhooks.EVERY, _("every event (*)"))] + [
            (name, name) for name in webhooks.EVENTS]


class EditForm(EndpointForm):
    disabled_reason = StringField(_l("Why it is disabled"))


class WebhooksView(GuardedView):
    area = "staff"

    def _page(self, form: EndpointForm, made: WebhookEndpoint | None = None,
              secret: str | None = None):
        with manager_session() as session:
            rows = webhooks.endpoints(session)
        return self.render("abonent/webhooks.html", rows=rows, form=form, made=made,
                           secret=secret, shown=webhooks.shown)

    @expose("/")
    def index(self):
        return self._page(EndpointForm())

    @expose("/create", methods=("POST",))
    @needs("edit")
    def create(self):
        form = EndpointForm()
        if not form.validate_on_submit():
            return self._page(form)
        try:
            with manager_session() as session:
                made = webhooks.create_endpoint(session, form.url.data, form.events.data,
                                                form.description.data, form.enabled.data)
        except ValidationError as exc:
            attach_error(form, exc)
            return self._page(form)
        return self._page(EndpointForm(formdata=None), made.endpoint, made.secret)

    def _endpoint(self, endpoint_id: int) -> WebhookEndpoint:
        with manager_session() as session:
            endpoint = session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None:
            abort(404)
        return endpoint

    @expose("/<int:endpoint_id>/edit")
    def edit(self, endpoint_id: int):
        endpoint = self._endpoint(endpoint_id)
        return self.render("abonent/webhook_edit.html", endpoint=endpoint,
                           form=EditForm(obj=endpoint))

    @expose("/<int:endpoint_id>/update", methods=("POST",))
    @needs("edit")
    def update(self, endpoint_id: int):
        endpoint = self._endpoint(endpoint_id)
        form = EditForm()
        if form.validate_on_submit():
            try:
                with manager_session() as session:
                    webhooks.update_endpoint(session, endpoint_id, {
                        name: form[name].data for name in webhooks.FIELDS})
            except ValidationError as exc:
                attach_error(form, exc)
            else:
                flash(_("Webhook endpoint %(id)s saved.", id=endpoint_id), "success")
                return redirect(url_for(".index"))
        return self.render("abonent/webhook_edit.html", endpoint=endpoint, form=form)

    @expose("/<int:endpoint_id>/rotate", methods=("POST",))
    @needs("edit")
    def rotate(self, endpoint_id: int):
        self._endpoint(endpoint_id)
        with manager_session() as session:
            made = webhooks.rotate_secret(session, endpoint_id)
        return self._page(EndpointForm(formdata=None), made.endpoint, made.secret)

    @expose("/<int:endpoint_id>/delete", methods=("POST",))
    @needs("edit")
    def delete(self, endpoint_id: int):
        self._endpoint(endpoint_id)
        with manager_session() as session:
            webhooks.delete_endpoint(session, endpoint_id)
        flash(_("Webhook endpoint %(id)s removed.", id=endpoint_id), "success")
        return redirect(url_for(".index"))

    @expose("/<int:endpoint_id>/test", methods=("POST",))
    @needs("edit")
    def test(self, endpoint_id: int):
        """Send a signed webhook_test now and say what the endpoint answered."""
        self._endpoint(endpoint_id)
        try:
            attempt = send_test(runtime(), sender_of(runtime()), endpoint_id)
        except ValidationError as exc:
            flash_refused(exc)
            return redirect(url_for(".index"))
        if attempt.status is not None and 200 <= attempt.status < 300:
            flash(_("The endpoint answered %(status)s to the test event.",
                    status=attempt.status), "success")
        elif attempt.status is not None:
            flash(_("The endpoint answered %(status)s to the test event: %(answer)s",
                    status=attempt.status, answer=attempt.response or ""), "error")
        else:
            flash(_("The endpoint was not reached: %(error)s", error=attempt.error), "error")
        return redirect(url_for(".attempts", of=endpoint_id))

    @expose("/attempts")
    def attempts(self):
        """The newest attempts, by endpoint, outcome (ok / failed) and HTTP status."""
        endpoint_id = key(request.args.get("of"))
        outcome = request.args.get("outcome") or None
        status = key(request.args.get("status"))
        with manager_session() as session:
            rows = webhooks.attempts(session, endpoint_id,
                                     outcome=outcome if outcome in webhooks.OUTCOMES else None,
                                     status=status if status and status < 1000 else None)
            endpoints = webhooks.endpoints(session)
        return self.render("abonent/webhook_attempts.html", rows=rows, endpoints=endpoints,
                           endpoint_id=endpoint_id, outcome=outcome, status=status)
