"""Command line: run the emulator as a process, or send one platform callback.

    python -m plugin_tv24.emulator --port 8124 --token demo-token --demo
    python -m plugin_tv24.emulator callback auth --api-url URL --phone 79001234567
    python -m plugin_tv24.emulator callback packet --api-url URL --user-id 1001 --trf-id 2 \\
        --packet-id 2 --price 299.00 --tv-user-id 100001 --phone 79001234567
    python -m plugin_tv24.emulator callback delete_subscription --api-url URL --user-id 1001 \\
        --sub-id 5000001 --packet-id 2
    python -m plugin_tv24.emulator callback balance --api-url URL --user-id 1001

A callback prints the billing's JSON reply and exits 0, or explains the failure on
stderr and exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading

from .callbacks import CallbackClient, CallbackError
from .server import Tv24Emulator


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "callback":
        return _callback(args)
    return _serve(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m plugin_tv24.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8124, help="0 picks a free port (default 8124)")
    parser.add_argument("--token", default="demo-token", help="the provider token the API accepts")
    parser.add_argument("--demo", action="store_true", help="start with three demo subscribers")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="added to every API answer, as a platform that far away (e.g. 0.05)")
    commands = parser.add_subparsers(dest="command", metavar="callback")
    callback = commands.add_parser("callback", help="send one platform callback to the billing")
    calls = callback.add_subparsers(dest="name", required=True)

    def call(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = calls.add_parser(name, help=help_text)
        sub.add_argument("--api-url", required=True, help="the billing's callback URL registered with the platform")
        return sub

    auth = call("auth", "a user registers in the app with a phone")
    auth.add_argument("--phone", required=True)
    auth.add_argument("--ip")
    auth.add_argument("--mbr-id", type=int, help="the platform user id")
    packet = call("packet", "a user buys a packet in the app")
    packet.add_argument("--user-id", required=True, help="the billing's subscriber id")
    packet.add_argument("--trf-id", type=int, required=True)
    packet.add_argument("--packet-id", type=int, required=True)
    packet.add_argument("--price", required=True, help="decimal string, e.g. 299.00")
    packet.add_argument("--tv-user-id", type=int, required=True, help="the platform user id")
    packet.add_argument("--phone", required=True)
    packet.add_argument("--provider-uid", help="defaults to --user-id")
    delete = call("delete_subscription", "a user switches a packet off in the app")
    delete.add_argument("--user-id", required=True)
    delete.add_argument("--sub-id", required=True)
    delete.add_argument("--packet-id", type=int, required=True)
    balance = call("balance", "the app asks for the subscriber's balance")
    balance.add_argument("--user-id", required=True)
    return parser


def _callback(args: argparse.Namespace) -> int:
    client = CallbackClient(args.api_url)
    try:
        if args.name == "auth":
            reply = client.auth(args.phone, args.ip, args.mbr_id)
        elif args.name == "packet":
            user = {"id": args.tv_user_id, "phone": args.phone, "provider_uid": args.provider_uid or args.user_id}
            reply = client.packet(args.user_id, args.trf_id, args.packet_id, args.price, user)
        elif args.name == "delete_subscription":
            reply = client.delete_subscription(args.user_id, args.sub_id, args.packet_id)
        else:
            reply = client.balance(args.user_id)
    except CallbackError as exc:
        print(f"callback failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply, ensure_ascii=False))
    return 0


def _serve(args: argparse.Namespace) -> int:
    emulator = Tv24Emulator(token=args.token, host=args.host, port=args.port)
    if args.demo:
        emulator.state.seed_demo()
    emulator.faults.set_latency(args.latency)
    # SIGTERM (e.g. from a process manager) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with emulator:
        print(f"24h TV emulator at {emulator.url} (token {args.token!r}); "
              f"control endpoints under {emulator.url}/_emulator/ - Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
