"""The packets the emulated provider sells.

A packet is either a base packet (a user has at most one at a time) or an add-on that
can only be bought on top of a base packet listing it in ``available``. The default set
mirrors what a 24h TV provider typically offers: three base tiers and a few themed
add-ons, monthly, priced in roubles as decimal strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Packet:
    """One packet of the catalog; ``available`` lists add-on ids allowed on a base packet."""

    id: int
    name: str
    price: str
    base: bool
    available: tuple[int, ...] = ()
    months: int = 1
    days: int = 0
    short: str = ""
    description: str = ""

    @property
    def period(self) -> str:
        """The period as an ISO 8601 duration, e.g. ``P1M`` (the spec only says string)."""
        return "P" + (f"{self.months}M" if self.months else "") + (f"{self.days}D" if self.days else "")


DEFAULT_PACKETS: tuple[Packet, ...] = (
    Packet(1, "Лайт", "149.00", True, available=(11, 12), short="Более 100 каналов"),
    Packet(2, "Оптимальный", "299.00", True, available=(10, 11, 12, 13), short="Более 200 каналов"),
    Packet(3, "Премиум", "599.00", True, available=(10, 12, 13), short="Более 300 каналов в HD"),
    Packet(10, "Кино", "199.00", False, short="Киноканалы и фильмотека"),
    Packet(11, "Детский", "99.00", False, short="Мультфильмы и детские каналы"),
    Packet(12, "Спорт", "249.00", False, short="Спортивные каналы"),
    Packet(13, "Матч! Премьер", "299.00", False, short="Российская Премьер-лига"),
)


def build_catalog(packets: Iterable[Packet | Mapping[str, Any]] | None) -> dict[int, Packet]:
    """Index ``packets`` (``Packet`` objects or dicts of their fields) by id, checking
    that every ``available`` id names an add-on of the same catalog."""
    items = [p if isinstance(p, Packet) else Packet(**{**p, "available": tuple(p.get("available", ()))})
             for p in (DEFAULT_PACKETS if packets is None else packets)]
    catalog = {packet.id: packet for packet in items}
    for packet in items:
        for addon_id in packet.available:
            addon = catalog.get(addon_id)
            if addon is None or addon.base:
                raise ValueError(f"packet {packet.id} lists {addon_id} as available, which is not an add-on")
    return catalog
