"""`abonent serve`: the web application, the outbox worker, the scheduler (leader-locked,
so several serve processes run each job once) and (with --demo) the plugins' platform
emulators, in one process, stopped cleanly by Ctrl-C or SIGTERM. While no
administrator has a password it prints a one-time link to set one."""
from __future__ import annotations

import logging
import signal
import threading

import click
from werkzeug.serving import make_server

from admin import staff
from admin.app import create_app
from core.runtime import Runtime
from plugins.outbox import Outbox
from plugins.scheduler import run_as_leader

log = logging.getLogger("abonent.serve")


def serve(runtime: Runtime, host: str, port: int, *, worker: bool = True,
          scheduler: bool = True, demo: bool = False) -> None:
    # each job run is recorded (jobs page, `abonent jobs`); APScheduler's own lines are noise
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
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
    server = make_server(host, port, create_app(runtime), threaded=True)
    for thread in threads:
        thread.start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    base_url = f"http://{shown}:{server.server_port}"
    click.echo(f"Abonent is serving on {base_url}/admin/ "
               f"(database: {runtime.engine.dialect.name}; Ctrl-C stops)")
    link = staff.first_start_link(runtime, base_url)
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
