"""/api/v1/webhooks: the webhook endpoints (core.webhooks) and their attempts' log,
served by the built-in plugin "webhooks" through `abonent_api_resources`, as an outside
plugin's resources are (so the plugins area's permission applies too). An endpoint sends
the subscribers' data out, as a key does: reading needs `staff:view`, changing
`staff:edit`, like the admin's Settings → Webhooks and API keys. The secret is in the
answer of POST /webhooks and of POST /webhooks/<id>/rotate only."""
from __future__ import annotations

from functools import partial

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from api.blueprint import ApiBlueprint, dumped, found, page, transaction
from api.schemas import PageQuery, page_of
from core import webhooks
from core.models import WebhookAttempt, WebhookEndpoint


class EndpointOut(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    events = fields.List(fields.String(), required=True,
                         metadata={"description": "event names, or [\"*\"] for all"})
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    secret_start = fields.Function(lambda e: webhooks.shown(e.secret), required=True,
                                   metadata={"type": "string"})


class EndpointWithSecret(EndpointOut):
    secret = fields.String(required=True, metadata={
        "description": "signs every request (Abonent-Signature); shown only in this answer"})


class EndpointIn(Schema):
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True,
                         metadata={"description": "event names, or [\"*\"] for all"})
    description = fields.String()
    enabled = fields.Boolean()


class EndpointChange(Schema):
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)


class AttemptOut(Schema):
    id = fields.Integer(required=True)
    endpoint_id = fields.Integer(required=True)
    event_id = fields.Integer(allow_none=True, required=True)
    delivery_id = fields.Integer(allow_none=True, required=True)
    event_name = fields.String(required=True)
    attempt = fields.Integer(required=True)
    sent_at = fields.DateTime(required=True)
    status = fields.Integer(allow_none=True, required=True)
    response = fields.String(allow_none=True, required=True,
                             metadata={"description": "the answer's first 500 characters"})
    duration_ms = fields.Integer(required=True)
    error = fields.String(allow_none=True, required=True)


class AttemptQuery(PageQuery):
    outcome = fields.String(validate=validate.OneOf(webhooks.OUTCOMES))
    status = fields.Integer(validate=validate.Range(100, 999))


def blueprint(runtime) -> Blueprint:
    """A new blueprint each call (each web application registers its own)."""
    blp = Blueprint("webhook_endpoints", __name__, url_prefix="/webhooks",
                    description="Webhook endpoints: URLs that get chosen events, signed")
    operation = partial(ApiBlueprint.operation, blp)

    @blp.route("", methods=["GET"])
    @operation("staff:view", 422)
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(EndpointOut, "WebhookPage"))
    def list_webhooks(args):
        with transaction() as session:
            return page(session, select(WebhookEndpoint), WebhookEndpoint.id, args,
                        EndpointOut())

    @blp.route("", methods=["POST"])
    @operation("staff:edit", 422)
    @blp.arguments(EndpointIn)
    @blp.response(201, EndpointWithSecret)
    def post_webhook(data):
        """Add an endpoint; its secret is in this answer only."""
        with transaction(write=True) as session:
            made = webhooks.create_endpoint(session, **data)
            return dumped(EndpointWithSecret(), made.endpoint, 201)

    @blp.route("/<int:endpoint_id>", methods=["GET"])
    @operation("staff:view", 404)
    @blp.response(200, EndpointOut)
    def get_webhook(endpoint_id):
        with transaction() as session:
            return dumped(EndpointOut(), _endpoint(session, endpoint_id))

    @blp.route("/<int:endpoint_id>", methods=["PATCH"])
    @operation("staff:edit", 404, 422)
    @blp.arguments(EndpointChange)
    @blp.response(200, EndpointOut)
    def patch_webhook(data, endpoint_id):
        """Change the URL, events, description or enabled (disabling may say why)."""
        with transaction(write=True) as session:
            _endpoint(session, endpoint_id)
            return dumped(EndpointOut(), webhooks.update_endpoint(session, endpoint_id, data))

    @blp.route("/<int:endpoint_id>", methods=["DELETE"])
    @operation("staff:edit", 404)
    @blp.response(204)
    def delete_webhook(endpoint_id):
        """Remove the endpoint and its attempts' log."""
        with transaction(write=True) as session:
            _endpoint(session, endpoint_id)
            webhooks.delete_endpoint(session, endpoint_id)
        return "", 204

    @blp.route("/<int:endpoint_id>/rotate", methods=["POST"])
    @operation("staff:edit", 404)
    @blp.response(200, EndpointWithSecret)
    def rotate_webhook(endpoint_id):
        """A new secret, in this answer only; the old one signs nothing from now on."""
        with transaction(write=True) as session:
            _endpoint(session, endpoint_id)
            return dumped(EndpointWithSecret(),
                          webhooks.rotate_secret(session, endpoint_id).endpoint)

    @blp.route("/<int:endpoint_id>/attempts", methods=["GET"])
    @operation("staff:view", 404, 422)
    @blp.arguments(AttemptQuery, location="query")
    @blp.response(200, page_of(AttemptOut, "WebhookAttemptPage"))
    def list_attempts(args, endpoint_id):
        """Each POST of an event to the endpoint, with its answer."""
        with transaction() as session:
            _endpoint(session, endpoint_id)
            query = webhooks.attempts_query(endpoint_id, outcome=args.pop("outcome", None),
                                            status=args.pop("status", None))
            return page(session, query, WebhookAttempt.id, args, AttemptOut())

    return blp


def _endpoint(session, endpoint_id: int) -> WebhookEndpoint:
    return found(session, WebhookEndpoint, endpoint_id, "webhook endpoint")
