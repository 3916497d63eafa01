"""Tariffs with their services (read: the catalog is kept in the admin)."""
from __future__ import annotations

from sqlalchemy import select

from api.blueprint import ApiBlueprint, dumped, found, page, transaction
from api.schemas import PageQuery, TariffOut, page_of
from core.models import Tariff

blp = ApiBlueprint("catalog", "Tariffs and the services on them")


@blp.route("/tariffs", methods=["GET"])
@blp.operation("settings:view", 422)
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(TariffOut, "TariffPage"))
def list_tariffs(args):
    with transaction() as session:
        return page(session, select(Tariff), Tariff.id, args, TariffOut())


@blp.route("/tariffs/<int:tariff_id>", methods=["GET"])
@blp.operation("settings:view", 404)
@blp.response(200, TariffOut)
def get_tariff(tariff_id):
    with transaction() as session:
        return dumped(TariffOut(), found(session, Tariff, tariff_id, "tariff"))
