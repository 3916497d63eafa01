"""Subscribers and contracts (with a contract's statement)."""
from __future__ import annotations

from sqlalchemy import func, select

from api.blueprint import ApiBlueprint, dumped, found, page, transaction
from api.schemas import (ContractIn, ContractOut, ContractQuery, StatementOut, StatementQuery,
                         SubscriberChange, SubscriberIn, SubscriberOut, SubscriberQuery, page_of)
from core import statements
from core.models import Contract, Subscriber
from core.services.customers import create_contract, create_subscriber, update_subscriber

blp = ApiBlueprint("customers", "Subscribers (people and companies) and their contracts")


@blp.route("/subscribers", methods=["GET"])
@blp.operation("subscribers:view", 422)
@blp.arguments(SubscriberQuery, location="query")
@blp.response(200, page_of(SubscriberOut, "SubscriberPage"))
def list_subscribers(args):
    query = select(Subscriber)
    if args.get("name"):
        query = query.where(func.lower(Subscriber.name).contains(args["name"].lower(),
                                                                 autoescape=True))
    with transaction() as session:
        return page(session, query, Subscriber.id, args, SubscriberOut())


@blp.route("/subscribers", methods=["POST"])
@blp.operation("subscribers:create", 422)
@blp.arguments(SubscriberIn)
@blp.response(201, SubscriberOut)
def post_subscriber(data):
    with transaction(write=True) as session:
        return dumped(SubscriberOut(), create_subscriber(session, **data), 201)


@blp.route("/subscribers/<int:subscriber_id>", methods=["GET"])
@blp.operation("subscribers:view", 404)
@blp.response(200, SubscriberOut)
def get_subscriber(subscriber_id):
    with transaction() as session:
        return dumped(SubscriberOut(), found(session, Subscriber, subscriber_id, "subscriber"))


@blp.route("/subscribers/<int:subscriber_id>", methods=["PATCH"])
@blp.operation("subscribers:edit", 404, 422)
@blp.arguments(SubscriberChange)
@blp.response(200, SubscriberOut)
def patch_subscriber(data, subscriber_id):
    with transaction(write=True) as session:
        found(session, Subscriber, subscriber_id, "subscriber")
        return dumped(SubscriberOut(), update_subscriber(session, subscriber_id, **data))


@blp.route("/contracts", methods=["GET"])
@blp.operation("contracts:view", 422)
@blp.arguments(ContractQuery, location="query")
@blp.response(200, page_of(ContractOut, "ContractPage"))
def list_contracts(args):
    query = select(Contract)
    if "subscriber_id" in args:
        query = query.where(Contract.subscriber_id == args["subscriber_id"])
    if args.get("number"):
        query = query.where(Contract.number == args["number"])
    with transaction() as session:
        return page(session, query, Contract.id, args, ContractOut())


@blp.route("/contracts", methods=["POST"])
@blp.operation("contracts:create", 422)
@blp.arguments(ContractIn)
@blp.response(201, ContractOut)
def post_contract(data):
    with transaction(write=True) as session:
        return dumped(ContractOut(), create_contract(session, **data), 201)


@blp.route("/contracts/<int:contract_id>", methods=["GET"])
@blp.operation("contracts:view", 404)
@blp.response(200, ContractOut)
def get_contract(contract_id):
    with transaction() as session:
        return dumped(ContractOut(), found(session, Contract, contract_id, "contract"))


@blp.route("/contracts/<int:contract_id>/statement", methods=["GET"])
@blp.operation("contracts:view", 404, 422)
@blp.arguments(StatementQuery, location="query")
@blp.response(200, StatementOut)
def get_statement(args, contract_id):
    with transaction() as session:
        found(session, Contract, contract_id, "contract")
        return dumped(StatementOut(),
                      statements.build(session, contract_id, args["first"], args["last"]))
