"""Every hook a plugin can implement, grouped by phase (pluggy project name "abonent").

Three kinds:

1. Registration, called once at start-up; the host collects what each plugin returns.
2. Synchronous contributions, called inside a core operation with its session; an
   exception aborts the operation and rolls its transaction back.
3. Notifications of committed facts, never called inside the core's transaction: the
   core writes an event in the same transaction as the change and the outbox delivers
   it to each listening plugin at least once, in order per (plugin, contract), with the
   event's `idempotency_key`. The outcome of a delivery follows one rule, stated in
   docs/hooks.md, "Outcomes of a delivery": the platform is down → raise
   `core.RetryLater` (not a failed attempt; dead once the event is older than
   `outbox.retry_later_max_seconds`); the platform refused it for good → `core.Rejected`
   (dead at once); any other exception is a failed attempt (retried with back-off,
   dead-lettered after `outbox.max_attempts`).

`docs/hooks.md` documents each hook with this exact signature; a test keeps them equal.
"""
from __future__ import annotations

import pluggy

PROJECT = "abonent"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- 1. Registration -----------------------------------------------------------------

@hookspec
def abonent_agent_types():
    """Called once at start-up. Return a list of `core.AgentType` this plugin provides
    (its settings fields, its account fields and their validators).

    An agent type code declared by two plugins, or a malformed declaration, stops
    start-up with a `PluginError` naming both.
    """


@hookspec
def abonent_config_schema():
    """Called once at start-up. Return a list of `core.Field` for this plugin's section
    of the configuration file (`[plugins.<name>]`), or None if it has no settings.

    The section is validated before anything runs; bad values stop start-up with a
    message naming every bad `plugins.<name>.<key>` (`abonent plugins` lists the plugin
    with them instead). The plugin reads its values as `ctx.config`.
    """


@hookspec
def abonent_migrations():
    """Called by `abonent db …` and at start-up. Return the folder (a `str` or
    `pathlib.Path`) of this plugin's own Alembic revision scripts, or None if it keeps
    no tables of its own (`core.links` often suffices).

    The scripts form the plugin's own branch: its first revision has
    `branch_labels = ("<plugin name>",)`, `down_revision = None` and `depends_on` the core
    revision it needs (e.g. "0003"); revision ids are unique across all plugins (prefix
    them with the plugin's name). Its tables are declared on the core's declarative base
    (`from core import Base`), so foreign keys to core tables work and `abonent db check`
    compares them. `abonent db upgrade` brings the core and every enabled plugin to its
    head, and no command runs on a database where one of them is behind. A folder that
    does not exist, or a first revision without the plugin's branch label, stops start-up
    with a `PluginError` naming the plugin.
    """


@hookspec
def abonent_jobs(runtime):
    """Called once when the scheduler starts. Return a list of `core.JobSpec` (id, a
    function of one argument `ctx`, a cron trigger, a description).

    Jobs run in the scheduler process; each run is recorded (result or error) and can
    be started by hand (`ctx.run_job(job_id)` from a plugin). The function returns a dict
    whose "outcome" ("ok", "partial", "failed"; missing means ok) becomes the run's
    status and whose "summary" is one line for the operator. An exception fails that run
    only.
    """


@hookspec
def abonent_admin_views(runtime):
    """Called once when the web admin is built. Return a list of Flask-Admin views to add
    to the admin (each with its menu category), or None.
    """


@hookspec
def abonent_blueprints(runtime):
    """Called once when the web application is built. Return a list of Flask blueprints
    (e.g. a platform's callback endpoints), or None. An exception stops start-up.
    """


@hookspec
def abonent_api_resources(runtime):
    """Called once when the web application is built. Return a list of the plugin's own
    REST resources as flask-smorest Blueprints (e.g. a platform's user of an account), or
    None. They are served under /api/v1/ (before the blueprint's own url_prefix) and
    listed in the OpenAPI document; a request needs an API key, GET needs `plugins:view`
    and any other method `plugins:edit`; errors are answered in the API's JSON. An
    exception (or a name taken) stops start-up.
    """


@hookspec
def abonent_cli_commands():
    """Called when the `abonent` command line is built. Return a list of click commands
    or groups to add (e.g. `abonent tv24 sync`), or None.
    """


@hookspec
def abonent_payment_gateways():
    """Called once when the web process starts (and by `abonent gateway list`). Return a
    list of `core.PaymentGateway` protocols this plugin provides (a code, its own
    configuration fields, how to verify a request's signature, read it, and answer it), or
    None. The operator configures gateways of a protocol in `[payment_gateways.<name>]`;
    the core turns each verified "pay" into a payment, idempotent by the gateway's
    transaction id. A protocol code provided twice, or not a PaymentGateway, stops
    start-up with a `PluginError`.
    """


@hookspec
def abonent_demo_services(runtime):
    """Called by `abonent serve --demo`. Start this plugin's platform emulator(s) for the
    demo (on the addresses its demo agents point at) and return a list of objects with a
    `stop()` method, or None. An exception stops the demo start with its message.
    """


@hookspec
def abonent_delivery_filter(runtime):
    """Called once at start-up, for a plugin that wants only some of the notifications it
    implements (the built-in webhooks: only events an endpoint subscribes to). Return a
    callable `wants(session, hook_name) -> bool`, or None to get every one. `emit` calls
    it for each event, in the event's transaction (`session`), and writes no delivery for
    this plugin when it answers False: keep it to a set look-up (cache what it reads and
    refresh it every few seconds), as it runs for every event written. An exception
    fails the operation that emits.
    """


# --- 2. Synchronous contributions ------------------------------------------------------

@hookspec(firstresult=True)
def abonent_rate_usage(session, record, service, account):
    """Called while a usage record is rated, inside the rating transaction.

    `record` is the `UsageRecord`, `service` the counter `Service`, `account` the
    `Account`. Return the `Decimal` amount to charge, or None to let the next plugin (and
    finally the core's value × price per unit) price it. The first non-None wins.
    Raise `ValidationError` to reject the record with that reason.
    """


@hookspec
def abonent_invoice_lines(session, contract, period_start, period_end):
    """Called while an invoice is built, inside its transaction. Return a list of
    `core.InvoiceLineDraft` (description, quantity, amount in the operator's price
    convention: VAT included when the operator's prices include it) to add for this
    contract and period (first and last day), or None. An exception aborts this contract's
    invoice.
    """


@hookspec
def abonent_collect_usage(session, day):
    """Called by the usage-collection run for `day` (a date in the operator's time zone).
    Return a list of `core.UsageDraft` measured for that day, or None. Records are
    idempotent by their `key`, so returning the same record twice is harmless.
    """


@hookspec(firstresult=True)
def abonent_find_subscriber(session, phone):
    """Called to look a subscriber up by phone (digits only, e.g. "79001234567"), for
    example by a platform's self-registration callback. Return a `Subscriber` or None;
    the first non-None wins. The built-in implementation (tried last) searches the
    subscribers' phones and then the account logins.
    """


@hookspec
def abonent_search_accounts(session, term):
    """Called by every search (the admin's top box and its lists' search boxes, through
    `core.search`) with the term a person typed, stripped and checked (3 to 100
    characters, no control characters). Return a SQLAlchemy SELECT of one column of
    account ids that this plugin finds for it (an account field it declared: an IP, a
    MAC…), or None when the term is not of a kind it searches.

    The SELECT is not run here: the core puts it in the search's UNION (one query), so
    build it to be served by an index (declared with the plugin's tables and created by
    its migrations), never a read of every account. An exception fails the search.
    """


@hookspec
def abonent_demo_data(session, runtime):
    """Called by `abonent demo load` after the core's demo data is in, in the same
    transaction: add this plugin's demo agents, tariffs and accounts.
    """


@hookspec
def abonent_account_panel(session, account):
    """Called when the account card is shown. Return a `core.Panel` (title and rows) with
    what this plugin knows of the account (platform user, session…), or None.
    An exception is shown in the panel, never breaks the card.
    """


@hookspec
def abonent_cabinet_panel(session, account):
    """Called when a subscriber opens the cabinet (/my/). Return a `core.Panel` with what
    the subscriber may see of this plugin's part of the account (a platform login, the
    packets on it…), or None. Shown to the subscriber: no secrets, no internal ids. An
    exception hides the panel ("not available now"), never breaks the page.
    """


@hookspec(firstresult=True)
def abonent_notify_subscriber(session, contract_id, channel, subject, body):
    """Called inside the caller's transaction to tell the subscriber of contract
    `contract_id` something by `channel` ("email" is built in; a plugin adds its own,
    e.g. "sms"): a password-reset code of the cabinet, whose channels are tried in the
    order of `[cabinet] reset_channels`. Queue the message in this transaction (never
    send it here: the transaction may still roll back) and return where it goes (an
    address or a phone, as text), or None when this plugin has no such channel or the
    subscriber has nothing to reach by it. The first non-None wins. Raise
    `ValidationError` when the channel cannot be used now (not configured): the caller
    logs it and tries the next channel.
    """


@hookspec
def abonent_reconcile(ctx, account_id, fix):
    """Called by "synchronise now" on the account card, `abonent <plugin> sync` and the
    nightly jobs. Compare the platform with the billing for one account (or all when
    `account_id` is None) and return a `core.ReconcileReport` of the drift found (and
    fixed, when `fix` is true), or None when this plugin has nothing to reconcile.
    """


@hookspec
def abonent_delivery_facts(session, events):
    """Called by the outbox for one plugin, in the transaction that claims a batch of
    its deliveries (`events`: the batch's `Event`s, at most one per contract), before
    any of them is delivered. Read what the deliveries will need from the billing's
    database (an agent's settings, the plugin's links…) in a few statements for the whole
    batch instead of a transaction a delivery, and return {event id: facts}; each
    delivery's `event.facts` is then its entry (None if absent). Optional.

    Read only: the facts are as of the claim, so a plugin that must see a change made
    since then reads again. An exception is logged and rolled back to a savepoint: the
    claim stands and the batch's events carry no facts.
    """


# --- 3. Notifications (delivered through the outbox) -----------------------------------

@hookspec
def abonent_account_created(event, ctx):
    """An account was created. `event.payload["account"]` is its snapshot (login, agent,
    tariff, fields, ext_id, state); its base subscriptions follow as
    `subscription_assigned` events.
    """


@hookspec
def abonent_account_changed(event, ctx):
    """Key fields of an account changed. `event.payload` has "account" (the new
    snapshot), "old" and "new" (the changed keys only: login, agent_id, agent_type,
    ext_id, fields).
    """


@hookspec
def abonent_account_trashed(event, ctx):
    """An account was moved to the trash (it is never hard-deleted): a platform should
    stop the service but keep the user, so `account_restored` can bring it back.
    """


@hookspec
def abonent_account_restored(event, ctx):
    """An account came back from the trash with its subscriptions as they were; a
    platform re-enables what `account_trashed` stopped.
    """


@hookspec
def abonent_subscription_assigned(event, ctx):
    """A service was assigned to an account. `event.payload["subscription"]` has the
    service (external code, activate/deactivate strings), dates and state.
    """


@hookspec
def abonent_subscription_activated(event, ctx):
    """A subscription became usable: activated by a manager, or a block was lifted
    (`event.payload["reason"]` says which).
    """


@hookspec
def abonent_subscription_deactivated(event, ctx):
    """A subscription stopped being usable: deactivated by a manager, or a block was set
    (`event.payload["reason"]` says which).
    """


@hookspec
def abonent_subscription_expired(event, ctx):
    """A subscription reached its end date (`end_on`) and ended; the scheduler's daily
    expiry run emits it. The payload's subscription shows `end_reason` "expired".
    """


@hookspec
def abonent_subscription_removed(event, ctx):
    """A subscription was removed from the account by a manager (it ends today), or
    ended by a tariff change; `event.payload["reason"]` says which.
    """


@hookspec
def abonent_tariff_changed(event, ctx):
    """The account's tariff changed. `event.payload` has "old_tariff" and "new_tariff"
    (id, name, base services) and "effective_on"; the old base subscriptions end and the
    new ones start in separate events that follow.
    """


@hookspec
def abonent_tariff_updated(event, ctx):
    """A manager edited a tariff attribute that plugins deliver (its device limit): one
    event per account on the tariff. `event.payload` has "account" (its snapshot, with
    the new values), "tariff" (id, name), "old" and "new" (the changed attributes only).
    Outcomes as for any notification (docs/hooks.md, "Outcomes of a delivery").
    """


@hookspec
def abonent_block_set(event, ctx):
    """A block was set on an account. `event.payload` has "block" (id, source, start_at,
    end_at, reason, created_by), "old_state" and "new_state" (the account's effective
    state; equal when the block changes nothing, e.g. a second block). docs/hooks.md,
    "Event reference", has every key and type.
    """


@hookspec
def abonent_block_lifted(event, ctx):
    """A block was lifted (by hand, by a payment, or its end date passed); payload as for
    `abonent_block_set`.
    """


@hookspec
def abonent_payment_received(event, ctx):
    """A payment was recorded. `event.payload["payment"]` has amount, source,
    external id and the contract's balance after it.
    """


@hookspec
def abonent_payment_reversed(event, ctx):
    """A payment (or a manual credit) was reversed by a manager: a negative ledger row
    undoes it. `event.payload["payment"]` is the original payment with the contract's
    balance after the reversal, `reversal_id` the reversing row, `reason` why.
    """


@hookspec
def abonent_invoice_issued(event, ctx):
    """An invoice was issued by the monthly run or on demand.
    `event.payload["invoice"]` has its number, contract, period and totals.
    """


@hookspec
def abonent_mail_queued(event, ctx):
    """An e-mail to a contract's subscriber was queued (an invoice, an act, a statement
    or a plain message; `event.payload["mail"]` has its id, recipient, subject and
    document). The built-in mailer ("core") sends it through `[mail]`'s SMTP server and
    records the server's answer in the mail log; another plugin may copy it elsewhere.
    """


NOTIFICATIONS = tuple(
    name[len("abonent_"):] for name, spec in list(globals().items())
    if name.startswith("abonent_") and callable(spec)
    and getattr(spec, "__code__", None) is not None
    and spec.__code__.co_varnames[:2] == ("event", "ctx")
)
