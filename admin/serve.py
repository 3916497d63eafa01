"""`abonent serve`: the web application, the outbox worker and (with --demo) the plugins'
platform emulators, in one process, stopped cleanly by Ctrl-C or SIGTERM."""
from __future__ import annotations

import logging
import signal
import threading

import click
from werkzeug.serving import make_server

from admin.app import create_app
from core.runtime import Runtime
from plugins.outbox import Outbox

log = logging.getLogger("abonent.serve")


def serve(runtime: Runtime, host: str, port: int, *, worker: bool = True,
          demo: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    services = []
    if demo:
        for started in runtime.hook.abonent_demo_services(runtime=runtime):
            services.extend(started or [])
    threads = []
    if worker:
        threads.append(threading.Thread(target=Outbox(runtime).run_forever, args=(stop,),
                                        name="outbox-worker", daemon=True))
    server = make_server(host, port, create_app(runtime), threaded=True)
    for thread in threads:
        thread.start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    click.echo(f"Abonent is serving on http://{host}:{server.server_port}/ "
               f"(database: {runtime.engine.dialect.name}; Ctrl-C stops)")
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
