"""A plugin for process tests: appends each delivery to a file, slowly, as a platform
would apply it (the payment's contract and amount, and the idempotency key).

Loaded by a real `abonent worker` through a fake entry point (see conftest.fake_distribution).
"""
import json
import os
import time

from core import Field


def abonent_config_schema():
    return [Field("path", required=True), Field("delay", "decimal", default=0)]


def abonent_payment_received(event, ctx):
    time.sleep(float(ctx.config["delay"]))
    with open(ctx.config["path"], "a") as out:
        payment = event.payload["payment"]
        out.write(json.dumps({"event": event.id, "pid": os.getpid(), "attempt": event.attempt,
                              "key": event.idempotency_key, "contract": payment["contract_id"],
                              "amount": str(payment["amount"])}) + "\n")
