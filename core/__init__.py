"""Abonent's core: the domain model, the billing engine and the hook specifications.

This module is the public API for plugins: a plugin imports from `core` only, never from
its submodules, so they can move without breaking it.
"""
from core.agents import AccountDraft, AgentType
from core.audit import audit
from core.blocking import lift_block, set_block
from core.cdr import WORK as CDR_WORK
from core.cdr import (CdrLine, FileReport, check_source, day_in_name, format_line, intake,
                      parse_line, read_lines, spool_root)
from core.charging import InsufficientFunds
from core.clock import now, today
from core.contributions import InvoiceLineDraft, JobSpec, Panel, ReconcileReport, UsageDraft
from core.csvout import writer as csv_writer
from core.documents import money_text, quantity_text
from core.errors import (AbonentError, ConfigError, Duplicate, NotFound, PluginError, Rejected,
                         RetryLater, ValidationError)
from core.events import Event
from core.fields import Field
from core.gateways import (GatewayAnswer, GatewayCall, GatewayOutcome, GatewayRequest,
                           PaymentGateway, SignatureRefused)
from core.hookspecs import hookimpl
from core.jobs import job_outcome, job_specs, last_runs
from core.http import (Answer, Exchange, PlatformHTTP, PlatformTimeout, PlatformUnreachable,
                       platform_session)
from core.mail import queue_mail
from core.links import LinkWrite, delete_link, find_link, get_link, links_of, set_link
from core.models import (Account, Agent, Base, Block, Charge, Contract, ExternalLink, Operator,
                         Payment, SensorType, Service, Subscriber, Subscription, Tariff,
                         TariffService, UsageRecord)
from core.models import Invoice
from core.models.base import Rate, trigram_index
from core.runtime import PluginContext, Runtime, runtime_of
from core.services.accounts import (change_account, change_tariff, create_account,
                                    restore_account, trash_account)
from core.services.customers import create_contract, create_subscriber
from core.services.inputs import MAX_KEY
from core.services.corrections import reverse_payment
from core.services.payments import record_payment
from core.services.promises import give_promise
from core.services.subscriptions import activate, assign_service, deactivate, purchase
from core.db import json_dumps
from core.sqlfuncs import among, inline_ids, insert_rows
from core.state import AccountState, account_state, effective_state, is_open
from core.usage import operator_today, record_usage

__all__ = [
    # plugin contracts
    "AccountDraft", "AgentType", "Field", "InvoiceLineDraft", "JobSpec", "Panel",
    "PluginContext", "ReconcileReport", "Runtime", "UsageDraft", "hookimpl", "runtime_of",
    # recorded job runs (a plugin runs one with ctx.run_job)
    "job_outcome", "job_specs", "last_runs",
    # a payment system's protocol (abonent_payment_gateways)
    "GatewayAnswer", "GatewayCall", "GatewayOutcome", "GatewayRequest", "PaymentGateway",
    "SignatureRefused",
    # kept-alive HTTP to a platform (proxies and CA bundle read once): a light urllib3 pool
    # for hot calls, or a requests session
    "Answer", "Exchange", "PlatformHTTP", "PlatformTimeout", "PlatformUnreachable",
    "platform_session",
    # errors
    "AbonentError", "ConfigError", "Duplicate", "InsufficientFunds", "NotFound", "PluginError",
    "Rejected", "RetryLater", "ValidationError",
    # the model (a plugin declares its own tables on Base: see abonent_migrations)
    "Account", "Agent", "Base", "Block", "Charge", "Contract", "Event", "ExternalLink", "Operator",
    "Payment", "SensorType", "Service", "Subscriber", "Subscription", "Tariff",
    "TariffService", "UsageRecord",
    # invoices (a plugin's rows may point at the one they landed on); NUMERIC(18, 6) for a
    # plugin's rates and quantities
    "Invoice", "Rate",
    # a PostgreSQL trigram index, for a plugin's search of fragments (abonent_search_accounts)
    "trigram_index",
    # bulk statements for a plugin's own tables (a batch of rows, a batch of ids); JSON text
    # as the database stores it (Decimals as strings, dates in ISO form)
    "among", "inline_ids", "insert_rows", "json_dumps",
    # operations, each in the caller's session and writing its events (block set/lifted,
    # payment received…) in that transaction
    "activate", "assign_service", "audit", "change_account", "change_tariff",
    "create_account", "create_contract", "create_subscriber", "deactivate", "give_promise",
    "lift_block", "purchase", "record_payment", "record_usage", "restore_account",
    "reverse_payment", "set_block", "trash_account",
    # a plain e-mail to a contract's subscriber, sent through the outbox (the mail log)
    "queue_mail",
    # an account's state ("active" or a block source: AccountState), time
    "AccountState", "account_state", "effective_state", "is_open", "now", "operator_today",
    "today",
    # a plugin's own links to platform ids (kind, our id -> external id and data)
    "LinkWrite", "delete_link", "find_link", "get_link", "links_of", "set_link",
    # the largest id a row can have (bounds for a plugin's command-line options)
    "MAX_KEY",
    # the CDR spool
    "CDR_WORK", "CdrLine", "FileReport", "check_source", "day_in_name", "format_line",
    "intake", "parse_line", "read_lines", "spool_root",
    # documents; CSV files whose text cells a spreadsheet never runs as formulas
    "csv_writer", "money_text", "quantity_text",
]
