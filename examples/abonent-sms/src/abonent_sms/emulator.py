"""An emulator of the SMS gateway, for the plugin's tests: its one call over real HTTP,
refusing what the gateway refuses.

POST /v1/messages {"to": "79001234567", "text": "…", "sender": "MyISP", "ref": "…"}
  201 {"id": "m-1"}      sent
  200 {"id": "m-1"}      this ref was sent before: not sent again (the gateway is idempotent)
  400 {"error": "…"}     refused: a number outside the gateway's country (+7), an empty or
                         too long text, a bad sender, a missing ref, an unknown key
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RULES = {"to": r"7\d{10}", "text": r"(?s).{1,480}", "sender": r"[A-Za-z0-9]{1,11}",
         "ref": r".{1,200}"}


def refusal(body) -> str | None:
    """Why the gateway refuses this message, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    unknown = sorted(set(body) - set(RULES))
    if unknown:
        return f"unknown key(s): {', '.join(unknown)}"
    for key, rule in RULES.items():
        if not isinstance(body.get(key), str) or not re.fullmatch(rule, body[key]):
            return f"{key}: must match {rule}"
    return None


class SmsGateway:
    """`with SmsGateway() as gateway:` serves on 127.0.0.1 (a free port) at `gateway.url`;
    `gateway.sent` lists the messages sent, in order."""

    def __init__(self):
        self.sent: list[dict] = []
        self._by_ref: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def texts(self) -> list[tuple[str, str]]:
        return [(m["to"], m["text"]) for m in self.sent]

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self._by_ref.clear()

    def _send(self, body) -> tuple[int, dict]:
        reason = refusal(body)
        if reason:
            return 400, {"error": reason}
        with self._lock:
            if body["ref"] in self._by_ref:
                return 200, {"id": self._by_ref[body["ref"]]}
            self.sent.append(body)
            self._by_ref[body["ref"]] = message_id = f"m-{len(self.sent)}"
        return 201, {"id": message_id}

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/messages":
                    status, answer = 404, {"error": "no such call"}
                else:
                    try:
                        status, answer = gateway._send(json.loads(raw))
                    except ValueError:
                        status, answer = 400, {"error": "the body is not JSON"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self) -> "SmsGateway":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
