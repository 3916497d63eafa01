"""A plugin for scheduler process tests: one daily job whose slot is given by the test
(ABONENT_TEST_SLOT, an aware ISO time), and jobs ending ok, partial and failed."""
import os
from datetime import datetime
from zoneinfo import ZoneInfo

from core import JobSpec


def daily(ctx):
    return {"pid": os.getpid(), "summary": f"ran in process {os.getpid()}"}


def abonent_jobs(runtime):
    slot = datetime.fromisoformat(os.environ["ABONENT_TEST_SLOT"])
    slot = slot.astimezone(ZoneInfo(runtime.settings.timezone))
    return [
        JobSpec("test.daily", daily, {"hour": slot.hour, "minute": slot.minute,
                                      "second": slot.second}, "a daily slot set by the test"),
        JobSpec("test.ok", lambda ctx: {"summary": "all 3 done"}, {"hour": 1}, "ends ok"),
        JobSpec("test.partial", lambda ctx: {"outcome": "partial", "summary": "2 of 3 done"},
                {"hour": 1}, "ends partial"),
        JobSpec("test.failed", lambda ctx: {"outcome": "failed", "summary": "0 of 3 done"},
                {"hour": 1}, "ends failed"),
    ]
