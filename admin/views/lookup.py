"""The search box on every page: one term, looked up as a phone, a login, a contract
number, a name and what plugins search (an IP, a MAC) at once (admin.search); a single
account found opens its card. Each kind keeps only its newest LIMIT matches."""
from __future__ import annotations

from flask import redirect, request, url_for
from flask_admin import expose
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from admin import search
from admin.db import manager_session
from admin.views.base import GuardedView
from core.models import Account, Contract, Subscriber
from core.state import states_of

LIMIT = 25


class LookupView(GuardedView):
    area = "accounts"

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self):
        term = request.args.get("q", "").strip()
        if not term:
            return self.render("abonent/lookup.html", term=term, accounts=[], contracts=[],
                               subscribers=[], states={})
        with manager_session() as session:
            found = search.newest(session, search.account_ids(term, LIMIT), LIMIT)
            accounts = list(session.scalars(
                select(Account).where(Account.id.in_(found))
                .options(joinedload(Account.contract).joinedload(Contract.subscriber),
                         joinedload(Account.tariff))
                .order_by(Account.trashed_at.is_not(None), Account.id.desc()).limit(LIMIT)))
            live = [a for a in accounts if not a.trashed]
            if len(live) == 1 and len(accounts) == 1:
                return redirect(url_for("card.show", account_id=live[0].id))
            subscribers = list(session.scalars(
                select(Subscriber).where(Subscriber.id.in_(
                    search.newest(session, search.subscriber_ids(term, LIMIT), LIMIT)))
                .options(selectinload(Subscriber.phones))
                .order_by(Subscriber.id.desc()).limit(LIMIT)))
            contracts = list(session.scalars(
                select(Contract).where(Contract.id.in_(
                    search.newest(session, search.contract_ids(term, LIMIT), LIMIT)))
                .options(joinedload(Contract.subscriber)).order_by(Contract.id.desc()).limit(LIMIT)))
            return self.render("abonent/lookup.html", term=term, accounts=accounts,
                               contracts=contracts, subscribers=subscribers,
                               states=states_of(session, [a.id for a in accounts]), limit=LIMIT)
