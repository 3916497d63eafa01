"""tests/example_plugin (a small plugin the core's tests load: an agent type's rules, a
configuration section, an exporter) keeps one effect per event when delivered twice."""
from __future__ import annotations

import json

import pytest

import abonent_example
from core.services.payments import record_payment
from plugins.outbox import Outbox


@pytest.fixture
def export_path(tmp_path):
    return tmp_path / "export.jsonl"


@pytest.fixture
def abonent_plugins():
    return [("example", abonent_example)]


@pytest.fixture
def abonent_config(export_path):
    return {"plugins": {"example": {"export_path": str(export_path)}}}


def test_payments_are_exported_once(runtime, factory, export_path):
    contract = factory.contract()
    with runtime.session() as s:
        record_payment(s, contract.id, "250.00", source="bank", external_id="b-1")
    outbox = Outbox(runtime, "w")
    (item,) = outbox.claim()
    outbox.deliver(item)  # delivered, but the worker "dies" before recording it
    outbox.release([item])
    assert outbox.drain() == 1  # so it is delivered again…
    lines = [json.loads(line) for line in export_path.read_text().splitlines()]
    assert len(lines) == 1  # …and the plugin's idempotency key keeps it to one effect
    assert lines[0]["payload"]["payment"]["amount"] == "250.00"
    assert lines[0]["key"].endswith(":example")
