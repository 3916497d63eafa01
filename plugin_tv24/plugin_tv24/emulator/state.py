"""The emulated platform's memory: users, subscriptions, pauses and the request log.

The rules are the ones the billing has to live with in production:

* phone and username (and e-mail, when given) are unique among users;
* deleting a user only deactivates it, and does not stop its subscriptions;
* a user has at most one base packet at any moment; an add-on needs a base packet that
  lists it in ``available``, and the same packet cannot be bought twice for one period;
* a subscription without ``end_at`` runs one packet period, ending one second before the
  next period would start;
* a paused subscription is frozen: unpausing extends it by the time it spent paused, and
  it cannot be ended while paused (unpause first);
* ending a subscription that has not started yet removes it; ending one that has ended
  is refused ("The subscription has already ended.").

Every public method takes the lock: the HTTP server answers from several threads.
"""

from __future__ import annotations

import calendar
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any

from .catalog import Packet, build_catalog
from .errors import ApiError, field_error, not_found
from .forms import NewSubscription

MAX_PAUSE = timedelta(days=90)  # the length of a pause nobody lifts (inferred, not documented)
DEFAULT_DEVICE_LIMIT = 5
REQUEST_LOG_SIZE = 10_000
UNIQUE_USER_FIELDS = ("phone", "username", "email")


def utc_now() -> datetime:
    """Whole seconds: the platform's timestamps carry none, and equal instants stay equal."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(moment: datetime) -> str:
    """The platform's date-time format: ISO 8601 in UTC with ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    id: int
    username: str
    phone: str
    date_joined: datetime
    first_name: str = ""
    last_name: str = ""
    provider_uid: str = ""
    email: str = ""
    is_active: bool = True
    device_limit: int = DEFAULT_DEVICE_LIMIT


@dataclass
class Pause:
    id: str
    start_at: datetime
    end_at: datetime

    def is_open(self, now: datetime) -> bool:
        return self.start_at <= now < self.end_at


@dataclass
class Subscription:
    id: str
    user_id: int
    packet: Packet
    start_at: datetime
    end_at: datetime
    renew: bool
    pauses: list[Pause] = field(default_factory=list)

    def is_current(self, now: datetime) -> bool:
        return self.start_at <= now < self.end_at

    def open_pause(self, now: datetime) -> Pause | None:
        return next((pause for pause in self.pauses if pause.is_open(now)), None)

    def is_paused(self, now: datetime) -> bool:
        return self.is_current(now) and self.open_pause(now) is not None

    def is_kind(self, kind: str, now: datetime) -> bool:
        """Whether the subscription is ``kind``: the platform's filter words."""
        if kind == "current":
            return self.is_current(now)
        if kind == "active":
            return self.is_current(now) and not self.is_paused(now)
        if kind == "paused":
            return self.is_paused(now)
        if kind == "planned":
            return self.start_at > now
        return kind == "all"

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start_at < end and start < self.end_at


@dataclass(frozen=True)
class RequestRecord:
    """One API call as the emulator saw it (the token is not kept); ``client`` is the
    caller's address and port, the same for calls on one kept-alive connection."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    client: str


def period_end(start: datetime, packet: Packet) -> datetime:
    """The last second of one packet period starting at ``start``."""
    month_index = start.month - 1 + packet.months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day) + timedelta(days=packet.days, seconds=-1)


class Tv24State:
    """In-memory platform state; ``clock`` returns the current UTC time."""

    def __init__(
        self,
        packets: Iterable[Packet | Mapping[str, Any]] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.lock = threading.RLock()
        self.packets: dict[int, Packet] = build_catalog(packets)
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget users, subscriptions and requests; keep the packet catalog."""
        with self.lock:
            self.users: dict[int, User] = {}
            self.subscriptions: dict[str, Subscription] = {}
            self.requests: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_SIZE)
            # Ids look like the platform's: integers for users, digit strings for the
            # rest (the spec's pause paths only accept digits as subscription ids).
            self._user_ids = count(100_001)
            self._subscription_ids = count(5_000_001)
            self._pause_ids = count(9_000_001)

    @property
    def pauses(self) -> list[Pause]:
        with self.lock:
            return [pause for sub in self.subscriptions.values() for pause in sub.pauses]

    def record(self, entry: RequestRecord) -> None:
        with self.lock:
            self.requests.append(entry)

    # -- users -------------------------------------------------------------------------

    def create_user(self, fields: Mapping[str, Any]) -> User:
        """Register a user from clean ``fields`` (see :func:`forms.user_fields`)."""
        with self.lock:
            self._check_unique(fields)
            user = User(id=next(self._user_ids), date_joined=self.clock(), **fields)
            self.users[user.id] = user
            return user

    def update_user(self, user_id: int | str, fields: Mapping[str, Any]) -> User:
        with self.lock:
            user = self.get_user(user_id)
            self._check_unique(fields, exclude=user)
            for name, value in fields.items():
                setattr(user, name, value)
            return user

    def deactivate_user(self, user_id: int | str) -> None:
        with self.lock:
            self.get_user(user_id).is_active = False

    def get_user(self, user_id: int | str) -> User:
        with self.lock:
            user = self.users.get(int(user_id)) if str(user_id).isdigit() else None
            if user is None:
                raise not_found("User")
            return user

    def find_users(self, filters: Mapping[str, str]) -> list[User]:
        """Users whose fields equal every filter, oldest first."""
        with self.lock:
            return [user for user in self.users.values()
                    if all(getattr(user, name) == value for name, value in filters.items())]

    def _check_unique(self, fields: Mapping[str, Any], exclude: User | None = None) -> None:
        taken = {
            name: [f"User with this {name} already exists."]
            for name in UNIQUE_USER_FIELDS
            if fields.get(name) and any(
                getattr(other, name) == fields[name] for other in self.users.values() if other is not exclude
            )
        }
        if taken:
            raise ApiError(400, detail=taken)

    # -- subscriptions -----------------------------------------------------------------

    def user_subscriptions(self, user_id: int | str, kinds: Iterable[str] | None = None,
                           window: tuple[datetime, datetime] | None = None) -> list[Subscription]:
        """The user's subscriptions of any of ``kinds`` (all when ``None``), oldest first;
        kind "period" means those overlapping ``window``."""
        with self.lock:
            user = self.get_user(user_id)
            now = self.clock()
            subs = [sub for sub in self.subscriptions.values() if sub.user_id == user.id]
            if kinds is None:
                return subs
            return [sub for sub in subs
                    if any(sub.overlaps(*window) if kind == "period" and window else sub.is_kind(kind, now)
                           for kind in kinds)]

    def create_subscriptions(self, user_id: int | str, items: Iterable[NewSubscription]) -> list[Subscription]:
        """Subscribe to several packets at once: all of them, or none when one is refused."""
        with self.lock:
            user = self.get_user(user_id)
            now = self.clock()
            others = [sub for sub in self.subscriptions.values() if sub.user_id == user.id and sub.end_at > now]
            created: list[Subscription] = []
            for item in items:
                packet = self.packets.get(item.packet_id)
                if packet is None:
                    raise field_error("packet_id", f"Packet {item.packet_id} does not exist.")
                start = item.start_at or now
                end = item.end_at or period_end(start, packet)
                if end <= start:
                    raise field_error("end_at", "end_at must be later than start_at.")
                _check_fits(packet, start, end, others + created)
                created.append(Subscription(str(next(self._subscription_ids)), user.id, packet, start, end, item.renew))
            self.subscriptions.update((sub.id, sub) for sub in created)
            return created

    def get_subscription(self, user_id: int | str, subscription_id: str) -> Subscription:
        with self.lock:
            user = self.get_user(user_id)
            sub = self.subscriptions.get(subscription_id)
            if sub is None or sub.user_id != user.id:
                raise not_found("Subscription")
            return sub

    def set_renew(self, user_id: int | str, subscription_id: str, renew: bool) -> Subscription:
        with self.lock:
            sub = self.get_subscription(user_id, subscription_id)
            sub.renew = renew
            return sub

    def end_subscription(self, user_id: int | str, subscription_id: str) -> None:
        """End it now; a planned one is dropped; an ended one is refused, in the platform's
        words."""
        with self.lock:
            sub = self.get_subscription(user_id, subscription_id)
            now = self.clock()
            if sub.end_at <= now:
                raise ApiError(400, "The subscription has already ended.")
            if sub.is_paused(now):
                raise ApiError(400, "The subscription is paused: unpause it before ending it.")
            if sub.start_at > now:
                del self.subscriptions[sub.id]
            else:
                sub.end_at = now

    # -- pauses ------------------------------------------------------------------------

    def pause(self, user_id: int | str, subscription_id: str) -> Pause:
        with self.lock:
            sub = self.get_subscription(user_id, subscription_id)
            now = self.clock()
            if not sub.is_current(now):
                raise ApiError(400, "Only a current subscription can be paused.")
            if sub.is_paused(now):
                raise ApiError(400, "The subscription is already paused.")
            return self._pause(sub, now)

    def unpause(self, user_id: int | str, subscription_id: str, pause_id: str) -> None:
        """Lift the pause (a pause already over is left alone)."""
        with self.lock:
            sub = self.get_subscription(user_id, subscription_id)
            pause = next((pause for pause in sub.pauses if pause.id == pause_id), None)
            if pause is None:
                raise not_found("Pause")
            _lift(sub, pause, self.clock())

    def pause_all(self, user_id: int | str) -> list[Pause]:
        """Pause every active subscription of the user; returns the new pauses."""
        with self.lock:
            now = self.clock()
            return [self._pause(sub, now) for sub in self.user_subscriptions(user_id, ("active",))]

    def unpause_all(self, user_id: int | str) -> None:
        with self.lock:
            now = self.clock()
            for sub in self.user_subscriptions(user_id, ("paused",)):
                _lift(sub, sub.open_pause(now), now)

    def _pause(self, sub: Subscription, now: datetime) -> Pause:
        pause = Pause(str(next(self._pause_ids)), now, now + MAX_PAUSE)
        sub.pauses.append(pause)
        return pause

    # -- demo --------------------------------------------------------------------------

    def seed_demo(self) -> None:
        """Three subscribers for a demo: one with a base packet and an add-on, one with a
        base packet only, one whose subscription is paused."""
        with self.lock:
            ivan = self.create_user({"username": "79001234567", "phone": "79001234567", "first_name": "Иван",
                                     "last_name": "Петров", "provider_uid": "1001"})
            self.create_subscriptions(ivan.id, [NewSubscription(2), NewSubscription(10)])
            maria = self.create_user({"username": "79007654321", "phone": "79007654321", "first_name": "Мария",
                                      "last_name": "Соколова", "provider_uid": "1002"})
            self.create_subscriptions(maria.id, [NewSubscription(1)])
            oleg = self.create_user({"username": "oleg.k", "phone": "79161112233", "first_name": "Олег",
                                     "last_name": "Кузнецов", "provider_uid": "1003", "device_limit": 2})
            (base,) = self.create_subscriptions(oleg.id, [NewSubscription(3)])
            self.pause(oleg.id, base.id)


def _check_fits(packet: Packet, start: datetime, end: datetime, others: list[Subscription]) -> None:
    """Refuse a subscription to ``packet`` for [start, end) that clashes with ``others``."""
    for other in others:
        if not other.overlaps(start, end):
            continue
        if other.packet.id == packet.id:  # the platform's own words
            raise ApiError(400, f"The user already has a subscription to packet {packet.id} in "
                                f"this period.")
        if packet.base and other.packet.base:
            raise field_error("packet_id", f"Base packet {other.packet.id} ({other.packet.name}) is active until "
                                           f"{iso(other.end_at)}: a user has one base packet at a "
                                           f"time; end it first or start packet {packet.id} after it.")
    if packet.base:
        return
    bases = [other for other in others if other.packet.base and other.start_at <= start < other.end_at]
    if not bases:
        raise field_error("packet_id", f"Packet {packet.id} ({packet.name}) is an add-on: it needs a base "
                                       f"packet subscription.")
    if not any(packet.id in base.packet.available for base in bases):
        names = ", ".join(f"{base.packet.id} ({base.packet.name})" for base in bases)
        raise field_error("packet_id", f"Packet {packet.id} ({packet.name}) is not available with base "
                                       f"packet {names}.")


def _lift(sub: Subscription, pause: Pause, now: datetime) -> None:
    """End ``pause`` now and give the subscription back the time it spent paused."""
    if not pause.is_open(now):
        return
    sub.end_at += now - pause.start_at
    pause.end_at = now
