"""`python -m plugin_nas_oss.emulator`: run an emulated NAS on its own, e.g. for radclient:

    python -m plugin_nas_oss.emulator --port 3799 --secret s3cret --session bob:10.0.0.15
    echo 'User-Name = "bob", Mikrotik-Address-List = "blocked", Message-Authenticator = 0x00' \
        | radclient -x 127.0.0.1:3799 coa s3cret
"""
from __future__ import annotations

import argparse
import logging
import time

from plugin_nas_oss.emulator.server import NasEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m plugin_nas_oss.emulator",
                                     description="An emulated NAS answering CoA / Disconnect")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3799)
    parser.add_argument("--secret", required=True, help="the CoA secret shared with the billing")
    parser.add_argument("--client", action="append", default=None,
                        help="an address allowed to send requests (default 127.0.0.1)")
    parser.add_argument("--session", action="append", default=[], metavar="USER[:IP]",
                        help="open a subscriber session at start")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    emulator = NasEmulator(args.secret, args.host, args.port,
                           clients=tuple(args.client or ("127.0.0.1",)))
    for spec in args.session:
        user, _, ip = spec.partition(":")
        emulator.state.open_session(user, ip or None)
    with emulator:
        print(f"NAS emulator: CoA / Disconnect on {emulator.host}:{emulator.port}", flush=True)
        try:
            while True:
                time.sleep(5)
                for item in emulator.received[-20:]:
                    logging.info("%s %s -> %s", item.kind, item.attributes, item.answer)
                emulator.received.clear()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
