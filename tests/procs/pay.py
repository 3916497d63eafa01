"""Run as a separate process: record N payments of 1.00 on a contract (concurrency tests)."""
import sys

from core.config import validate_settings
from plugins.host import build_runtime
from core.services.payments import record_payment

url, contract_id, count, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
runtime = build_runtime(validate_settings({"database_url": url}, "test"), load_entrypoints=False)
for i in range(count):
    with runtime.session(actor="test") as session:
        record_payment(session, contract_id, "1.00", source="race", external_id=f"{tag}-{i}")
