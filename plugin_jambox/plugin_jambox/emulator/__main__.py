"""Command line: run the emulated SMS as a process.

    python -m plugin_jambox.emulator --port 8126 --login demo --password demo --demo
"""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from . import JamboxEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plugin_jambox.emulator",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8126, help="0 picks a free port (default 8126)")
    parser.add_argument("--login", default="demo", help="the SMS login the API accepts")
    parser.add_argument("--password", default="demo", help="its password (the API wants its MD5)")
    parser.add_argument("--demo", action="store_true",
                        help="start with demo customers, boxes in stock and subnets")
    args = parser.parse_args(argv)
    emulator = JamboxEmulator(args.login, args.password, args.host, args.port)
    if args.demo:
        emulator.sms.seed_demo()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with emulator:
        print(f"JAMBOX SMS emulator at {emulator.url} (login {args.login!r}) - Ctrl-C stops",
              flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
