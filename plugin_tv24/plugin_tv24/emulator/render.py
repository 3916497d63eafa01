"""The emulator's model rendered as the spec's schemas (BaseUser, Packet, PacketSubscription,
PacketSubscriptionPause).

Every required property is present with the spec's type, so openapi-core accepts each
response. Several read-only properties are, in the spec, strings although the platform
computes them (``allow_delete_paused``, ``is_self_deletion_allowed``, ...); they are given
as strings here. The one exception is ``BaseUser.subscriptions``: also typed string in the
spec, it carries the list of subscriptions when ``?subscriptions=`` asks for it, which is
what a reconciliation needs (see the conformance test for how that is checked).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .catalog import Packet
from .state import Pause, Subscription, User, iso

PROVIDER = {
    "id": 1001,
    "name": "Abonent demo ISP",
    "agreements": {},
    "landing": None,
    "is_have_purchases": False,
    "is_allow_additional_packets_without_base": False,
    "free_channels_count": 20,
    "store_sources": "",
    "language": {"default": "ru"},
    "currency": {"code": "RUB", "symbol": "₽"},
    "getip_url": "",
    "display_contact_info": False,
    "disallow_subscribe": False,
    "payment_info": None,
}
TIMEZONE, TIMEZONE_UTC_OFFSET = "Europe/Moscow", 3 * 3600


def packet(item: Packet, catalog: Mapping[int, Packet] | None = None) -> dict[str, Any]:
    """A ``Packet``; with ``catalog``, also its ``available`` add-ons (``includes=availables``)."""
    body: dict[str, Any] = {
        "id": item.id,
        "name": item.name,
        "short": item.short,
        "description": item.description,
        "price": item.price,
        "old_price": item.price,
        "base": item.base,
        "is_public": True,
        "period": item.period,
        "period_human": {"days": item.days, "months": item.months, "years": 0},
        "design": {},
        "after_renew_packet_id": item.id,
    }
    if catalog is not None:
        body["available"] = [packet(catalog[addon_id]) for addon_id in item.available]
    return body


def pause(item: Pause) -> dict[str, Any]:
    return {"id": item.id, "start_at": iso(item.start_at), "end_at": iso(item.end_at)}


def subscription(item: Subscription, now: datetime) -> dict[str, Any]:
    """A ``PacketSubscription`` (``ProviderPacketSubscription`` has the same shape)."""
    return {
        "id": item.id,
        "packet": packet(item.packet),
        "start_at": iso(item.start_at),
        "end_at": iso(item.end_at),
        "renew": item.renew,
        "is_paused": item.is_paused(now),
        "pauses": [pause(p) for p in item.pauses],
        "allow_delete_paused": "false",
    }


def user(item: User, subscriptions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A ``BaseUser``; ``subscriptions`` is the rendered list asked for with ``?subscriptions=``."""
    body: dict[str, Any] = {
        "id": item.id,
        "username": item.username,
        "first_name": item.first_name,
        "last_name": item.last_name,
        "provider_uid": item.provider_uid,
        "phone": item.phone,
        "timezone": TIMEZONE,
        "timezone_utcoffset": TIMEZONE_UTC_OFFSET,
        "device_limit": item.device_limit,
        "is_active": item.is_active,
        "is_provider_free": False,
        "is_testuser": False,
        "is_validated": False,
        "is_guest": False,
        "is_geofree": False,
        "is_self_deletion_allowed": "false",
        "parental_code": "",
        "parental_status": "",
        "parental_dialogue": "",
        "unaccepted_agreement_ids": "",
        "accounts": [],
        "tags": [],
        "provider": PROVIDER,
        "last_login": None,
        "date_joined": iso(item.date_joined),
        "subscriptions": "" if subscriptions is None else subscriptions,
    }
    if item.email:  # the spec's email is format: email, so an unset one is left out
        body["email"] = item.email
    return body
