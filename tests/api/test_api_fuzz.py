"""The whole API fuzzed from its own OpenAPI document (schemathesis): every operation,
with data that fits the document and data that does not, as an administrator's key on
a database with the demo's subscribers, an invoice, usage and job runs. No answer may be
a 5xx, and every answer must be documented: its status, content type, headers and body.

Each operation is tried with made-up path ids (mostly unknown: 404) and with the ids of
real records, so real rows go through the answers' schemas too. The draws are fixed
(derandomize) and few per operation, so the test is the same on every run and fits its
budget; a developer widens EXAMPLES to look harder.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               negative_data_rejection,
                                               response_headers_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)
from sqlalchemy import select

from core import clock, demo
from core.contributions import UsageDraft
from core.invoicing import invoice_period
from core.jobs import job_specs
from core.models import (Account, Delivery, Invoice, JobRun, Payment, Subscriber,
                         Subscription)
from core.services.dates import operator_today
from core.usage import record_usage

pytestmark = pytest.mark.sqlite_only

#: examples per operation and generation mode (API_FUZZ_EXAMPLES=100 looks harder)
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", 6))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
#: operations whose every call is slow (a PDF): fewer examples
SLOW = {"GET /api/v1/invoices/{invoice_id}/document.pdf": 2}


@pytest.fixture
def records(runtime) -> dict[str, int]:
    """The demo (a dozen subscribers), an invoice of last month, a usage record, a job
    run; returns a real id for each path parameter the API has."""
    with runtime.session(actor="demo") as session:
        demo.load(session, subscribers=12)
    first_of_month = clock.now().date().replace(day=1)
    invoice_period(runtime, (first_of_month - timedelta(days=1)).replace(day=1))
    with runtime.session(actor="test") as session:
        account = session.scalars(select(Account).order_by(Account.id)).first()
        account.ext_id = "fuzz-1"
        session.flush()
        record_usage(session, [UsageDraft(key="fuzz:1", source="test", ext_id="fuzz-1",
                                          sensor_type_id=1, value=1,
                                          day=operator_today(session))])
        session.add(JobRun(job_id="nothing", status="ok", result={"summary": "done"}))
        session.flush()

        def first(column):
            return session.scalar(select(column).order_by(column).limit(1))
        return {"account_id": account.id, "subscriber_id": first(Subscriber.id),
                "contract_id": account.contract_id, "payment_id": first(Payment.id),
                "invoice_id": first(Invoice.id), "subscription_id": first(Subscription.id),
                "tariff_id": account.tariff_id, "service_id": 1, "record_id": 1,
                "run_id": first(JobRun.id), "delivery_id": first(Delivery.id),
                "source": "admin", "job_id": sorted(job_specs(runtime))[0]}


def test_every_operation_answers_as_documented(app, new_key, records):
    _, token = new_key("administrator", rate_limit=100_000)
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = [p.name for p in operation.path_parameters]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for fixed in ({}, {name: records.get(name, 1) for name in names}) if names else ({},):
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
                checks = CHECKS + ([negative_data_rejection] if mode == "negative" else [])
                try:
                    _fuzz(strategy, headers, checks, SLOW.get(operation.label, EXAMPLES))
                except (Exception, BaseExceptionGroup) as exc:  # every finding is listed
                    failures.append(f"{operation.label} ({mode}, ids {fixed}): {exc}")
    assert not failures, "\n\n".join(failures)


def _fuzz(strategy, headers: dict[str, str], checks, examples: int) -> None:
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def call(case):
        case.call_and_validate(headers=headers, checks=checks)
    call()
