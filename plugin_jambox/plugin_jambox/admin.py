"""The JAMBOX pages of the admin (menu "JAMBOX"): SGT's module's screens over the same
functions the command line uses (plugin_jambox.desk).

- Customers: the SMS's customers, paged and sortable, with the contract and its balance
  beside each and links to the card; "link by external id" (custidupdate); export.
- TV account (from the customers list, or `?account_id=`): the account's services with
  terminate (with or without a penalty), activate, upgrade and gifts; its boxes with issue
  (MACs in stock suggested) and return; the PINs; the "suspend TV invoicing" switch; the
  customer's messages (send, delete one, delete all); synchronise now.
- Set-top boxes (register, remove), Subnets (split), Messages (to everyone, delete),
  Packages.

The admin puts the "plugins" area's permissions on every view (reading needs
`plugins:view`, posting `plugins:edit`). Every post checks its input first (a refusal
names the field), and shows the SMS's refusal with SGT's text; nothing is half-written.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from flask import current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose

from core import MAX_KEY, Account, ValidationError, audit, today
from plugin_jambox import store
from plugin_jambox.client import JamboxError, JamboxFault
from plugin_jambox.desk import SORTS, Desk, set_invoicing_suspended
from plugin_jambox.inputs import READ_CONFIRMATION
from plugin_jambox.operations import month_end
from plugin_jambox.reconcile import reconcile

CATEGORY = "JAMBOX"


def number(name: str, required: bool = True) -> int | None:
    """A whole number from the posted form (or the query), refused naming the field."""
    raw = (request.form.get(name) if request.method == "POST" else None) or request.args.get(name)
    raw = (raw or "").strip()
    if not raw:
        if required:
            raise ValidationError(name, "is required")
        return None
    if not raw.isdigit() or int(raw) > MAX_KEY or int(raw) < 1:
        raise ValidationError(name, f"must be a whole number from 1, not {raw[:20]!r}")
    return int(raw)


def posted(name: str) -> str:
    return (request.form.get(name) or "").strip()


class JamboxView(BaseView):
    """A JAMBOX page: templates from this package, the plugin's context, one way of
    showing what was done or refused."""

    def create_blueprint(self, admin):
        blueprint = super().create_blueprint(admin)
        blueprint.root_path = str(Path(__file__).parent)
        blueprint.template_folder = "templates"
        return blueprint

    @property
    def ctx(self):
        return current_app.extensions["abonent"].context(store.PLUGIN)

    def desk(self, account_id: int | None = None) -> Desk:
        agent_id = None
        if account_id is not None:
            with self.ctx.session() as session:
                account = session.get(Account, account_id)
                agent_id = account.agent_id if account is not None else None
        return Desk.of(self.ctx, agent_id, cached=request.method == "GET")

    def attempt(self, action: Callable[[], Any], done: Callable[[Any], str],
                what: str, object_id: Any) -> bool:
        """Run an SMS function; flash what was done (audited) or why it was refused."""
        try:
            result = action()
        except ValidationError as exc:
            flash(f"Refused — {exc.field}: {exc.reason}", "error")
            return False
        except JamboxFault as exc:
            flash(f"The SMS refused ({exc.method}): {exc.message}", "error")
            return False
        except JamboxError as exc:
            flash(f"The SMS did not answer: {exc}", "error")
            return False
        message = done(result)
        with self.ctx.session() as session:
            audit(session, what, "jambox", object_id, {"done": message})
        flash(message, "success")
        return True

    def read(self, action: Callable[[], Any], default: Any) -> tuple[Any, str | None]:
        """An SMS read for a page: (result, None), or (default, why it is missing)."""
        try:
            return action(), None
        except ValidationError as exc:
            return default, f"{exc.field}: {exc.reason}"
        except JamboxError as exc:
            return default, f"the SMS did not answer or refused: {exc}"


class CustomersView(JamboxView):
    @expose("/")
    def index(self):
        sort = request.args.get("sort", "cust_number")
        descending = request.args.get("desc") == "1"
        try:
            page = number("page", required=False) or 1
        except ValidationError:
            page = 1
        (rows, total), problem = self.read(
            lambda: self.desk().customers(page, 50, sort if sort in SORTS else "cust_number",
                                          descending), ([], 0))
        accounts: dict[int, list[int]] = {}
        with self.ctx.session() as session:
            ids = [r.contract_id for r in rows if r.contract_id]
            for account in session.query(Account).filter(Account.contract_id.in_(ids)):
                accounts.setdefault(account.contract_id, []).append(account.id)
        return self.render("jambox/customers.html", rows=rows, total=total, page=page,
                           sort=sort, desc=descending, problem=problem, sorts=SORTS,
                           accounts=accounts, pages=max(1, (total + 49) // 50))

    @expose("/custidupdate", methods=("POST",))
    def custidupdate(self):
        self.attempt(lambda: self.desk().custidupdate(),
                     lambda r: f"{len(r['linked'])} linked, {r['already']} linked before, "
                               f"{len(r['unknown'])} without a contract",
                     "custidupdate", "customers")
        return redirect(url_for(".index"))

    @expose("/export", methods=("POST",))
    def export(self):
        self.attempt(lambda: self.desk().export_customer(number("contract_id")),
                     lambda r: f"SMS customer {r[0]} ({r[1]})", "export",
                     request.form.get("contract_id"))
        return redirect(request.form.get("next") or url_for(".index"))


class AccountView(JamboxView):
    """One JAMBOX account, as SGT's module's "Konta TV" tab."""

    @expose("/")
    def index(self):
        try:
            account_id = number("account_id")
        except ValidationError as exc:
            flash(f"Refused — {exc.field}: {exc.reason}", "error")
            return redirect(url_for("jambox_customers.index"))
        with self.ctx.session() as session:
            account = session.get(Account, account_id)
            if account is None or account.agent.type != "jambox":
                flash(f"Refused — account_id: account {account_id} is not a JAMBOX account",
                      "error")
                return redirect(url_for("jambox_customers.index"))
            contract_id, login = account.contract_id, account.login
            suspended = store.invoicing_suspended(session, contract_id)
            cust_number = store.customer_number(session, contract_id)
        desk, problem = self.read(lambda: self.desk(account_id), None)
        services, boxes, pins, stock, subnets, messages, offers, gifts = ([], [], None, [], [],
                                                                          [], {}, {})
        if desk is not None:
            services, problem = self.read(lambda: desk.services(account_id), [])
            boxes, _ = self.read(lambda: desk.account_stbs(account_id), [])
            pins, _ = self.read(lambda: desk.pins(contract_id), None)
            stock, _ = self.read(lambda: desk.stock_macs(), [])
            subnets, _ = self.read(desk.subnets, [])
            messages, _ = self.read(lambda: desk.messages(contract_id), [])
            for service in services:
                if not str(service.get("sub_valid_to") or ""):
                    sms_id = int(service["subscription_id"])
                    offers[sms_id], _ = self.read(lambda i=sms_id: desk.upgrades(account_id, i), [])
                    gifts[sms_id], _ = self.read(lambda i=sms_id: desk.gifts(account_id, i), [])
        return self.render("jambox/account.html", account_id=account_id, login=login,
                           contract_id=contract_id, cust_number=cust_number,
                           suspended=suspended, services=services, boxes=boxes, pins=pins,
                           stock=stock, subnets=subnets, messages=messages, offers=offers,
                           gifts=gifts, problem=problem, confirmations=READ_CONFIRMATION,
                           period_end=month_end(today()).isoformat())

    def is_visible(self) -> bool:
        return False  # reached from the customers list and the account card

    def _back(self, account_id):
        return redirect(url_for(".index", account_id=account_id))

    def _account(self) -> int:
        return number("account_id")

    @expose("/terminate", methods=("POST",))
    def terminate(self):
        account_id = request.form.get("account_id")
        self.attempt(lambda: self.desk(self._account()).terminate(
            self._account(), number("service"), posted("date") or None, posted("fee"),
            posted("reason")), lambda end: f"The service ends on {end}", "terminate",
            account_id)
        return self._back(account_id)

    @expose("/activate", methods=("POST",))
    def activate(self):
        account_id = request.form.get("account_id")
        self.attempt(lambda: self.desk(self._account()).activate(self._account(),
                                                                 number("service")),
                     lambda _: "The service is active", "activate", account_id)
        return self._back(account_id)

    @expose("/upgrade", methods=("POST",))
    def upgrade(self):
        account_id = request.form.get("account_id")
        choice = posted("choice")  # "<package>|<date>"
        package, _, when = choice.partition("|")

        def run():
            if not package.isdigit():
                raise ValidationError("choice", "choose a package and a date")
            self.desk(self._account()).upgrade(self._account(), number("service"),
                                               int(package), when)
        self.attempt(run, lambda _: f"Upgraded to package {package} on {when}", "upgrade",
                     account_id)
        return self._back(account_id)

    @expose("/gift", methods=("POST",))
    def gift(self):
        account_id = request.form.get("account_id")
        self.attempt(lambda: self.desk(self._account()).give_gift(
            self._account(), number("service"), number("package")),
            lambda _: "The gift is given", "gift", account_id)
        return self._back(account_id)

    @expose("/issue", methods=("POST",))
    def issue(self):
        account_id = request.form.get("account_id")
        self.attempt(lambda: self.desk(self._account()).issue_stb(
            self._account(), posted("mac"), number("subnet_id"), number("service", False)),
            lambda mac: f"{mac} issued", "stb_issue", account_id)
        return self._back(account_id)

    @expose("/return", methods=("POST",))
    def stb_return(self):
        account_id = request.form.get("account_id")
        self.attempt(lambda: self.desk(self._account()).return_stb(self._account(),
                                                                   posted("mac")),
                     lambda mac: f"{mac} is back in stock", "stb_return", account_id)
        return self._back(account_id)

    @expose("/pins", methods=("POST",))
    def pins(self):
        account_id = request.form.get("account_id")
        self.attempt(lambda: self.desk(self._account()).set_pins(
            number("contract_id"), posted("vod_pin"), posted("master_pin")),
            lambda _: "The PINs are changed", "pins", account_id)
        return self._back(account_id)

    @expose("/invoicing", methods=("POST",))
    def invoicing(self):
        account_id = request.form.get("account_id")
        suspend = posted("suspend") == "1"
        self.attempt(lambda: set_invoicing_suspended(self.ctx, number("contract_id"), suspend),
                     lambda _: "TV invoicing is " + ("suspended from the next run" if suspend
                                                     else "on again"),
                     "invoicing", account_id)
        return self._back(account_id)

    @expose("/sync", methods=("POST",))
    def sync(self):
        account_id = request.form.get("account_id")
        self.attempt(lambda: reconcile(self.ctx, self._account(), fix=True),
                     lambda r: f"{len(r.drift)} drift item(s), "
                               f"{sum(1 for d in r.drift if d['fixed'])} fixed"
                               + (f"; errors: {'; '.join(r.errors)}" if r.errors else ""),
                     "sync", account_id)
        return self._back(account_id)

    @expose("/message", methods=("POST",))
    def message(self):
        account_id = request.form.get("account_id")
        self.attempt(lambda: send(self.desk(self._account()), number("contract_id")),
                     lambda n: f"Sent to {n} customer(s)", "message", account_id)
        return self._back(account_id)

    @expose("/message/delete", methods=("POST",))
    def message_delete(self):
        account_id = request.form.get("account_id")
        every = posted("all") == "1"
        self.attempt(lambda: self.desk(self._account()).delete_messages(
            None if every else [number("msg_id")], number("contract_id") if every else None),
            lambda n: f"{n} message(s) deleted", "message_delete", account_id)
        return self._back(account_id)


def send(desk: Desk, contract_id: int | None) -> int:
    """A message from the posted form, to one contract's customer or (None) to all."""
    try:
        confirm = int(posted("confirm") or "1")
        priority = int(posted("priority") or "1")
    except ValueError:
        raise ValidationError("confirm", "must be 0, 1 or 2") from None
    return desk.send_message(contract_id, posted("body"),
                             (posted("teaser_from"), posted("teaser_to")),
                             (posted("valid_from"), posted("valid_to")), posted("text"),
                             confirm, priority)


class StbView(JamboxView):
    @expose("/")
    def index(self):
        where = request.args.get("where", "")
        boxes, problem = self.read(lambda: self.desk().stbs(where if where in ("stock", "customer")
                                                            else ""), [])
        return self.render("jambox/stb.html", boxes=boxes, where=where, problem=problem)

    @expose("/register", methods=("POST",))
    def register(self):
        self.attempt(lambda: self.desk().register_stb(posted("mac"), posted("serial"),
                                                      posted("model")),
                     lambda mac: f"{mac} is in stock", "stb_register", posted("mac"))
        return redirect(url_for(".index"))

    @expose("/remove", methods=("POST",))
    def remove(self):
        self.attempt(lambda: self.desk().remove_stb(posted("mac")),
                     lambda mac: f"{mac} removed", "stb_remove", posted("mac"))
        return redirect(url_for(".index"))


class SubnetsView(JamboxView):
    @expose("/")
    def index(self):
        subnets, problem = self.read(lambda: self.desk().subnets(), [])
        return self.render("jambox/subnets.html", subnets=subnets, problem=problem)

    @expose("/split", methods=("POST",))
    def split(self):
        self.attempt(lambda: self.desk().split_subnet(number("subnet_id"),
                                                      posted("name1") or None,
                                                      posted("name2") or None),
                     lambda names: f"Split into {names[0]} and {names[1]}", "subnet_split",
                     request.form.get("subnet_id"))
        return redirect(url_for(".index"))


class MessagesView(JamboxView):
    @expose("/")
    def index(self):
        messages, problem = self.read(lambda: self.desk().messages(), [])
        return self.render("jambox/messages.html", messages=messages, problem=problem,
                           confirmations=READ_CONFIRMATION)

    @expose("/send", methods=("POST",))
    def send_all(self):
        self.attempt(lambda: send(self.desk(), None), lambda n: f"Sent to {n} customer(s)",
                     "message", "all")
        return redirect(url_for(".index"))

    @expose("/delete", methods=("POST",))
    def delete(self):
        self.attempt(lambda: self.desk().delete_messages([number("msg_id")]),
                     lambda n: f"{n} message(s) deleted", "message_delete",
                     request.form.get("msg_id"))
        return redirect(url_for(".index"))


class PackagesView(JamboxView):
    @expose("/")
    def index(self):
        packages, problem = self.read(lambda: self.desk().packages(), [])
        return self.render("jambox/packages.html", packages=packages, problem=problem)


def views() -> list[BaseView]:
    return [CustomersView(name="Customers", category=CATEGORY, endpoint="jambox_customers"),
            AccountView(name="TV account", category=CATEGORY, endpoint="jambox_account"),
            StbView(name="Set-top boxes", category=CATEGORY, endpoint="jambox_stb"),
            SubnetsView(name="Subnets", category=CATEGORY, endpoint="jambox_subnets"),
            MessagesView(name="Messages", category=CATEGORY, endpoint="jambox_messages"),
            PackagesView(name="Packages", category=CATEGORY, endpoint="jambox_packages")]
