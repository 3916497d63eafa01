"""Settings → Payment gateways: what `abonent gateway list` prints, for a person — each
payment system of `[payment_gateways.<name>]` with its address (/pay/<name>/), protocol,
whether it takes payments, the addresses it may call from and its limits, its settings
with the secrets masked, and a link to its payments (source `gw:<name>`); then the
protocols the core and the plugins offer (`abonent_payment_gateways`) that no section
uses. Read-only: a gateway is set up in the configuration file, whose secret this page
never shows."""
from __future__ import annotations

from flask_admin import expose

from admin.db import runtime
from admin.views.base import GuardedView
from core.gateways import configured, protocols


class GatewaysView(GuardedView):
    area = "settings"

    @expose("/")
    def index(self):
        rt = runtime()
        gateways = sorted(configured(rt).values(), key=lambda gateway: gateway.name)
        used = {gateway.protocol.code for gateway in gateways}
        unused = [protocol for code, protocol in sorted(protocols(rt).items())
                  if code not in used]
        return self.render("abonent/gateways.html", gateways=gateways, unused=unused,
                           payments=self.can("payments:view"))
