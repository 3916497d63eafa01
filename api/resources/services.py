"""The catalog's services (read: kept in the admin) and an account's subscriptions to
them: assigned, activated or deactivated, removed through core.services.subscriptions,
as the account card does; or bought at once as the cabinet's Connect does."""
from __future__ import annotations

from flask import abort
from sqlalchemy import select

from api.blueprint import ApiBlueprint, dumped, found, page, select_given, transaction
from api.schemas import page_of
from api.schemas_billing import (ServiceOut, ServiceQuery, SubscriptionChange, SubscriptionIn,
                                 SubscriptionOut, SubscriptionQuery)
from core.errors import ValidationError
from core.models import Account, Service, Subscription
from core.services import subscriptions

blp = ApiBlueprint("services", "Services of the catalog and the accounts' subscriptions")


@blp.route("/services", methods=["GET"])
@blp.operation("settings:view", 422)
@blp.arguments(ServiceQuery, location="query")
@blp.response(200, page_of(ServiceOut, "ServicePage"))
def list_services(args):
    query = select_given(Service, args, "kind", "archived")
    with transaction() as session:
        return page(session, query, Service.id, args, ServiceOut())


@blp.route("/services/<int:service_id>", methods=["GET"])
@blp.operation("settings:view", 404)
@blp.response(200, ServiceOut)
def get_service(service_id):
    with transaction() as session:
        return dumped(ServiceOut(), found(session, Service, service_id, "service"))


@blp.route("/accounts/<int:account_id>/subscriptions", methods=["GET"])
@blp.operation("accounts:view", 404, 422)
@blp.arguments(SubscriptionQuery, location="query")
@blp.response(200, page_of(SubscriptionOut, "SubscriptionPage"))
def list_subscriptions(args, account_id):
    query = select(Subscription).where(Subscription.account_id == account_id)
    if "state" in args:
        query = query.where(Subscription.state == args["state"])
    with transaction() as session:
        found(session, Account, account_id, "account")
        return page(session, query, Subscription.id, args, SubscriptionOut())


@blp.route("/accounts/<int:account_id>/subscriptions", methods=["POST"])
@blp.operation("accounts:services", 404, 422)
@blp.arguments(SubscriptionIn)
@blp.response(201, SubscriptionOut)
def post_subscription(data, account_id):
    """Assign a service the account's tariff offers (`subscription_assigned` goes to the
    plugins); with `purchase`, its current period is charged at once."""
    with transaction(write=True) as session:
        found(session, Account, account_id, "account")
        if data.pop("purchase", False):
            if data.keys() - {"service_id"}:
                raise ValidationError(sorted(data.keys() - {"service_id"})[0],
                                      "does not apply to a purchase (it starts today)")
            made = subscriptions.purchase(session, account_id, data["service_id"])
        else:
            made = subscriptions.assign_service(session, account_id, data.pop("service_id"),
                                                **data)
        return dumped(SubscriptionOut(), made, 201)


def _subscription(session, account_id: int, subscription_id: int) -> Subscription:
    found(session, Account, account_id, "account")
    subscription = found(session, Subscription, subscription_id, "subscription")
    if subscription.account_id != account_id:
        abort(404, description=f"account {account_id} has no subscription {subscription_id}")
    return subscription


@blp.route("/accounts/<int:account_id>/subscriptions/<int:subscription_id>",
           methods=["PATCH"])
@blp.operation("accounts:services", 404, 422)
@blp.arguments(SubscriptionChange)
@blp.response(200, SubscriptionOut)
def patch_subscription(data, account_id, subscription_id):
    """Activate or deactivate it (`subscription_activated` / `_deactivated`)."""
    with transaction(write=True) as session:
        _subscription(session, account_id, subscription_id)
        change = subscriptions.activate if data["active"] else subscriptions.deactivate
        return dumped(SubscriptionOut(), change(session, subscription_id))


@blp.route("/accounts/<int:account_id>/subscriptions/<int:subscription_id>",
           methods=["DELETE"])
@blp.operation("accounts:services", 404, 422)
@blp.response(200, SubscriptionOut)
def delete_subscription(account_id, subscription_id):
    """Remove it: it ends today, the unused days are refunded (`subscription_removed`)."""
    with transaction(write=True) as session:
        _subscription(session, account_id, subscription_id)
        return dumped(SubscriptionOut(), subscriptions.remove(session, subscription_id))
