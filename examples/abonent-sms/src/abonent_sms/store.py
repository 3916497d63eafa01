"""The plugin's own table: every text sent, for the account card and to send each once,
and the notices queued to be sent (no gateway id nor time sent yet: abonent_sms.notices).

`core.links` keeps one platform id per billing object (a platform's user id for an
account); a log of many rows per contract needs a table, declared on the core's `Base`
(so its foreign key to `contract` works and `abonent db check` compares it) and created
by the plugin's own Alembic branch (migrations/).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core import Base, now


class SmsMessage(Base):
    __tablename__ = "sms_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(200), unique=True)  # event key + phone
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    phone: Mapped[str] = mapped_column(String(15))
    text: Mapped[str] = mapped_column(Text)
    gateway_id: Mapped[str | None] = mapped_column(String(100))  # None: queued
    sent_at: Mapped[datetime | None] = mapped_column(default=now)
