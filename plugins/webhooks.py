"""The built-in plugin "webhooks" (registered next to "core", plugins.host): delivers
the events the operator's endpoints subscribe to (core.webhooks), signed, through its own
outbox lane (`[plugins.webhooks] concurrency`), and serves /api/v1/webhooks through
`abonent_api_resources` as an outside plugin would.

It implements every notification but `mail_queued`; its `abonent_delivery_filter` makes
the outbox write a delivery only for the events an enabled endpoint wants.
"""
from __future__ import annotations

import threading
from decimal import Decimal

from core.errors import ValidationError
from core.fields import Field
from core.webhooks import EVENTS, PLUGIN, Interest
from core.webhooks_delivery import Sender, deliver
from plugins.host import delivery_settings


def abonent_config_schema():
    return [
        Field("connect_timeout", "decimal", default="5", min=Decimal("0.1"), max=Decimal("60"),
              help="seconds to wait for an endpoint's connection"),
        Field("read_timeout", "decimal", default="10", min=Decimal("0.1"), max=Decimal("300"),
              help="seconds to wait for an endpoint's answer"),
        Field("refresh_seconds", "int", default=10, min=1, max=3600,
              help="how often a process reads which events the endpoints want (an "
                   "endpoint saved in another process gets events within this window)"),
        Field("allow_private", "bool", default=True,
              help="allow endpoints on loopback and private addresses; turn it off to "
                   "refuse URLs into the operator's own network (SSRF)"),
    ]


def abonent_delivery_filter(runtime):
    return Interest(runtime.plugin_configs[PLUGIN]["refresh_seconds"])


_senders: dict[tuple, Sender] = {}
_senders_lock = threading.Lock()


def sender_of(runtime) -> Sender:
    """The process's `Sender` for these settings (its connections kept between calls)."""
    config = runtime.plugin_configs.get(PLUGIN)
    if config is None:
        raise ValidationError(f"plugins.{PLUGIN}", "the webhooks plugin is disabled "
                                                   "(plugins.disabled)")
    key = (float(config["connect_timeout"]), float(config["read_timeout"]),
           delivery_settings(runtime.settings, PLUGIN)["concurrency"],
           bool(config["allow_private"]))
    with _senders_lock:
        if key not in _senders:
            _senders[key] = Sender(*key)
        return _senders[key]


def _deliver(event, ctx):
    deliver(ctx.runtime, sender_of(ctx.runtime), event)


for _name in EVENTS:
    globals()[f"abonent_{_name}"] = _deliver


def abonent_api_resources(runtime):
    from api.resources.webhooks import blueprint
    return [blueprint(runtime)]
