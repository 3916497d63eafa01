"""``python -m plugin_wialon.emulator``: run the emulator as a standalone server.

    python -m plugin_wialon.emulator --port 8125 --token <72 chars> --demo

Without ``--token`` a random token is generated and printed (with ``--demo``:
the demo token the demo agent of ``abonent demo load`` holds).  Break the
running emulator through the ``/_emulator/`` endpoints (see ``control``).
"""

from __future__ import annotations

import argparse
import secrets

from .seed import DEMO_TOKEN, load_demo
from .server import WialonEmulator

TOKEN_LENGTH = 72


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m plugin_wialon.emulator",
                                     description="Wialon Remote API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8125)
    parser.add_argument("--token", action="append", default=[],
                        help="accepted token (repeatable); random if none given")
    parser.add_argument("--user", default="billing", help="user name the tokens log in as")
    parser.add_argument("--demo", action="store_true",
                        help="seed account 777 with 6 units and 300 more accounts; "
                             "without --token, accept the demo token")
    parser.add_argument("--idle-timeout", type=float, default=300.0,
                        help="seconds before an idle session expires (default 300)")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    tokens = args.token or [DEMO_TOKEN if args.demo else secrets.token_hex(TOKEN_LENGTH // 2)]
    for token in tokens:
        if len(token) != TOKEN_LENGTH:
            print(f"warning: Wialon tokens are {TOKEN_LENGTH} characters; "
                  f"{token[:8]}... has {len(token)}")
    emulator = WialonEmulator({token: args.user for token in tokens}, host=args.host,
                              port=args.port, session_idle_timeout=args.idle_timeout,
                              access_log=not args.quiet)
    if args.demo:
        load_demo(emulator.state)
    emulator.start()
    print(f"Wialon emulator at {emulator.api_url}")
    print(f"controls at {emulator.url}/_emulator/state")
    for token in tokens:
        print(f"token: {token}", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
