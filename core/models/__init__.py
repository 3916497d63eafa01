"""The domain model (SQLAlchemy 2.0 typed mappings); `Base.metadata` is what Alembic diffs."""
from core.models.account import Account, Agent, Block, Subscription, TariffChange
from core.models.apikey import ApiKey
from core.models.audit import AuditEntry, ExternalLink, JobRun
from core.models.base import Base
from core.models.cabinet import CabinetReset, CabinetSession
from core.models.catalog import SensorType, Service, Tariff, TariffService, Unit
from core.models.corrections import Instalment, PromisedPayment
from core.models.documents import DocumentTemplate, MailMessage, ProviderDetails
from core.models.helpdesk import Ticket, TicketAttachment, TicketComment, TicketHistory
from core.models.invoice import Invoice, InvoiceLine
from core.models.ledger import Charge, Payment
from core.models.outbox import Delivery, OutboxEvent
from core.models.party import Contract, NumberCounter, NumberPlan, Operator, Phone, Subscriber
from core.models.staff import LoginThrottle, Manager, Role, SetupToken, StaffSession
from core.models.usage import CdrFile, UsageRecord
from core.models.webhook import WebhookAttempt, WebhookEndpoint

__all__ = [
    "Account", "Agent", "ApiKey", "AuditEntry", "Base", "Block", "CabinetReset", "CabinetSession", "CdrFile", "Charge", "Contract", "Delivery", "DocumentTemplate", "ExternalLink", "Instalment", "OutboxEvent",
    "Invoice", "InvoiceLine", "JobRun", "LoginThrottle", "MailMessage", "Manager", "NumberCounter", "NumberPlan", "Operator", "Payment",
    "Phone", "PromisedPayment", "ProviderDetails", "Role", "SensorType", "Service", "SetupToken", "StaffSession", "Subscriber", "Subscription", "Tariff", "TariffChange",
    "TariffService", "Ticket", "TicketAttachment", "TicketComment", "TicketHistory", "Unit",
    "UsageRecord", "WebhookAttempt", "WebhookEndpoint",
]
