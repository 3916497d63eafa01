"""What is sold: units, sensor types, catalog services and tariffs."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, Rate

SERVICE_KINDS = ("periodic", "one_time", "counter")
CHARGE_METHODS = ("daily", "monthly")


class Unit(Base):
    """A unit of measure of counter services (Carbon's ids: 5 = pcs)."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(30), unique=True)


class SensorType(Base):
    """A dictionary the operator edits: what a counter counts (sensor_1 → id 1)."""

    __tablename__ = "sensor_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Service(Base):
    """A catalog service (услуга).

    periodic: `price` per day or per month (`method`); one_time: `price` once;
    counter: `price_per_unit` × measured value in `unit`, matched by `sensor_type`.
    `external_code` is what a platform calls it (a 24h TV packet id); `activate_string`
    and `deactivate_string` are handed to NAS handlers as Carbon does.
    """

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    method: Mapped[str | None] = mapped_column(String(10))
    price: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    price_per_unit: Mapped[Decimal | None] = mapped_column(Rate())
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    sensor_type_id: Mapped[int | None] = mapped_column(ForeignKey("sensor_type.id"))
    agent_type: Mapped[str | None] = mapped_column(String(50))
    external_code: Mapped[str | None] = mapped_column(String(100))
    activate_string: Mapped[str | None] = mapped_column(String(500))
    deactivate_string: Mapped[str | None] = mapped_column(String(500))
    archived: Mapped[bool] = mapped_column(default=False)

    unit: Mapped[Unit | None] = relationship()
    sensor_type: Mapped[SensorType | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN {SERVICE_KINDS}", name="kind"),
        CheckConstraint("method IS NULL OR method IN ('daily', 'monthly')", name="method"),
        CheckConstraint("price >= 0", name="price"),
    )


class Tariff(Base):
    """A set of services; its base services are subscribed automatically.

    `charge_when_*` say whether an account blocked for that reason is still charged
    (a debt-collection block keeps billing in JAMBOX; a voluntary block usually stops it).
    """

    __tablename__ = "tariff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(1000))
    device_limit: Mapped[int | None] = mapped_column()
    charge_when_balance: Mapped[bool] = mapped_column(default=False)
    charge_when_admin: Mapped[bool] = mapped_column(default=False)
    charge_when_voluntary: Mapped[bool] = mapped_column(default=False)
    charge_when_disabled: Mapped[bool] = mapped_column(default=False)
    #: subscribers may choose it in their cabinet (a change for the next period)
    self_service: Mapped[bool] = mapped_column(default=False)
    archived: Mapped[bool] = mapped_column(default=False)

    items: Mapped[list["TariffService"]] = relationship(
        back_populates="tariff", cascade="all, delete-orphan", lazy="selectin")

    @property
    def base_services(self) -> list[Service]:
        return [item.service for item in self.items if item.is_base]


class TariffService(Base):
    """A service offered on a tariff; `is_base` ones are subscribed with the account."""

    __tablename__ = "tariff_service"

    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariff.id", ondelete="CASCADE"),
                                           primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), primary_key=True)
    is_base: Mapped[bool] = mapped_column(default=False)

    tariff: Mapped[Tariff] = relationship(back_populates="items")
    service: Mapped[Service] = relationship(lazy="joined")
