"""Accounts (with the agent type's fields a plugin declared) and their blocks."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from api.blueprint import ApiBlueprint, dumped, found, page, select_given, transaction
from api.schemas import AccountIn, AccountOut, AccountQuery, BlockIn, BlockOut, LiftIn, page_of
from core.blocking import lift_block, set_block
from core.models import Account, Block
from core.services.accounts import create_account
from core.state import account_state, states_of

blp = ApiBlueprint("accounts", "Accounts (a login on an agent, with a tariff) and blocks")


class StatedAccount(AccountOut):
    """An account dumped from (account, its state): the state is read with the rows."""

    def get_attribute(self, obj, attr, default):
        account, state = obj
        return state if attr == "state" else super().get_attribute(account, attr, default)


#: made once: a schema's construction copies its fields, a cost per request otherwise
STATED = StatedAccount()


def _dump_one(session, account: Account, status: int = 200):
    return dumped(STATED, (account, account_state(session, account.id)), status)


def _with_states(session):
    def pair(rows):
        states = states_of(session, [row.id for row in rows])
        return [(row, states[row.id]) for row in rows]
    return pair


@blp.route("/accounts", methods=["GET"])
@blp.operation("accounts:view", 422)
@blp.arguments(AccountQuery, location="query")
@blp.response(200, page_of(AccountOut, "AccountPage"))
def list_accounts(args):
    query = select_given(Account, args, "contract_id", "login", "agent_id", "tariff_id")
    with transaction() as session:
        return page(session, query, Account.id, args, StatedAccount(), _with_states(session))


@blp.route("/accounts", methods=["POST"])
@blp.operation("accounts:create", 422)
@blp.arguments(AccountIn)
@blp.response(201, AccountOut)
def post_account(data):
    with transaction(write=True) as session:
        account = create_account(session, data.pop("contract_id"),
                                 fields=data.pop("fields_", None), **data)
        return _dump_one(session, account, 201)


@blp.route("/accounts/<int:account_id>", methods=["GET"])
@blp.operation("accounts:view", 404)
@blp.response(200, AccountOut)
def get_account(account_id):
    with transaction() as session:
        return _dump_one(session, found(session, Account, account_id, "account",
                                        options=(joinedload(Account.agent),)))


@blp.route("/accounts/<int:account_id>/blocks", methods=["GET"])
@blp.operation("accounts:view", 404)
@blp.response(200, BlockOut(many=True))
def list_blocks(account_id):
    with transaction() as session:
        found(session, Account, account_id, "account")
        blocks = session.scalars(select(Block).where(Block.account_id == account_id)
                                 .order_by(Block.id))
        return dumped(BlockOut(many=True), list(blocks))


@blp.route("/accounts/<int:account_id>/blocks", methods=["POST"])
@blp.operation("accounts:block", 404, 422)
@blp.arguments(BlockIn)
@blp.response(201, BlockOut)
def post_block(data, account_id):
    """Block the account (admin, voluntary or disabled); `block_set` goes to the plugins."""
    with transaction(write=True) as session:
        found(session, Account, account_id, "account")
        return dumped(BlockOut(), set_block(session, account_id, data.pop("source"), **data), 201)


@blp.route("/accounts/<int:account_id>/blocks/<source>", methods=["DELETE"])
@blp.operation("accounts:block", 404, 422)
@blp.arguments(LiftIn(), location="query")
@blp.response(200, BlockOut)
def delete_block(args, account_id, source):
    """Lift the account's open block of `source`; `block_lifted` goes to the plugins."""
    with transaction(write=True) as session:
        found(session, Account, account_id, "account")
        return dumped(BlockOut(), lift_block(session, account_id, source, **args))
