"""Abonent's core: the domain model, the billing engine and the hook specifications.

This module is the public API for plugins: a plugin imports from `core` only, never from
its submodules, so they can move without breaking it.
"""
from core.agents import AccountDraft, AgentType
from core.contributions import InvoiceLineDraft, JobSpec, Panel, ReconcileReport, UsageDraft
from core.errors import (AbonentError, ConfigError, Duplicate, NotFound, PluginError, Rejected,
                         RetryLater, ValidationError)
from core.events import Event
from core.fields import Field
from core.hookspecs import hookimpl
from core.runtime import PluginContext, Runtime

__all__ = [
    "AbonentError", "AccountDraft", "AgentType", "ConfigError", "Duplicate", "Event", "Field",
    "InvoiceLineDraft", "JobSpec", "NotFound", "Panel", "PluginContext", "PluginError",
    "ReconcileReport", "Rejected", "RetryLater", "Runtime", "UsageDraft", "ValidationError", "hookimpl",
]
