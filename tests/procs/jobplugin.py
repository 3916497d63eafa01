"""A plugin for scheduler process tests: a job every second that says which process ran it."""
import os

from core import JobSpec


def tick(ctx):
    return {"pid": os.getpid()}


def abonent_jobs(runtime):
    return [JobSpec("test.tick", tick, {"second": "*"}, "says which scheduler process runs")]
