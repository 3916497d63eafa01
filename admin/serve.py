"""`abonent serve`: the web application, the outbox worker, the scheduler (leader-locked,
so several serve processes run each job once) and (with --demo) the plugins' platform
emulators, in one process, stopped cleanly by Ctrl-C or SIGTERM. While no
administrator has a password it prints a one-time link to set one.

A database restart ends none of it: the worker and the scheduler wait for the database
and resume, and a page asked for meanwhile answers 503 "try again" (one log line) rather
than a 500 and a traceback."""
from __future__ import annotations

import logging
import signal
import threading

import click
from flask import Flask, Response, request
from sqlalchemy.exc import DBAPIError
from werkzeug.serving import make_server

from admin import staff
from admin.app import create_app
from core.db import reason_of, unavailable
from core.runtime import Runtime
from plugins.outbox import Outbox
from plugins.scheduler import run_as_leader

log = logging.getLogger("abonent.serve")


def serve(runtime: Runtime, host: str, port: int, *, worker: bool = True,
          scheduler: bool = True, demo: bool = False) -> None:
    stop = threading.Event()
    services = []
    if demo:
        for started in runtime.hook.abonent_demo_services(runtime=runtime):
            services.extend(started or [])
    threads = []
    if worker:
        threads.append(threading.Thread(target=Outbox(runtime).run_forever, args=(stop,),
                                        name="outbox-worker", daemon=True))
    if scheduler:
        threads.append(threading.Thread(target=run_as_leader, args=(runtime, stop),
                                        name="scheduler", daemon=True))
    app = create_app(runtime)
    answer_503_while_database_away(app)
    server = make_server(host, port, app, threaded=True)
    for thread in threads:
        thread.start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    base_url = f"http://{shown}:{server.server_port}"
    click.echo(f"Abonent is serving on {base_url}/admin/ "
               f"(database: {runtime.engine.dialect.name}; Ctrl-C stops)")
    link = _first_start_link(runtime, base_url)
    if link:
        hours = staff.LINK_LIFETIME.total_seconds() // 3600
        click.echo("First start: no administrator has a password yet (there is no default one).\n"
                   f"Open this one-time link to set it (valid {hours:.0f} hours):\n  {link}\n"
                   "or run `abonent manager create --admin`.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        for service in services:
            service.stop()
        for thread in threads:
            thread.join(timeout=10)


def _first_start_link(runtime: Runtime, base_url: str) -> str | None:
    """The set-up link to print, or None; None too when the database went away since the
    start-up waited for it (a restart at that moment): serving goes on, its pages answer
    503 until the database is back, and the next start prints the link."""
    try:
        return staff.first_start_link(runtime, base_url)
    except Exception as exc:
        if not unavailable(exc):
            raise
        log.warning("the database went away at start-up (%s): no first-start link shown now",
                    reason_of(exc))
        return None


def answer_503_while_database_away(app: Flask) -> None:
    """A page asked for while the database is away answers 503 with Retry-After and logs
    one line; any other database error stays a 500 with its traceback (a bug)."""
    @app.errorhandler(DBAPIError)
    def database_away(exc: DBAPIError):
        if not unavailable(exc):
            raise exc
        log.warning("%s %s: database unavailable (%s)", request.method, request.path,
                    reason_of(exc))
        return Response("The billing database is unavailable for a moment (restarting?); "
                        "try again shortly.\n", 503,
                        {"Retry-After": "5", "Content-Type": "text/plain; charset=utf-8"})
