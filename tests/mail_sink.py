"""A local SMTP server for the mail tests (aiosmtpd on 127.0.0.1, a port the system
picks): it keeps what it accepts, refuses the recipients it is told to (550), and can be
taken down and brought back on the same port to play an outage."""
from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from email.message import EmailMessage as Message

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self):
        self.received: list[Message] = []
        self.refuse: set[str] = set()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server = None
        threading.Thread(target=self._loop.run_forever, daemon=True).start()

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refuse:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 2.0.0 queued as %d" % len(self.received)

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def start(self) -> "Sink":
        async def serve():
            return await self._loop.create_server(lambda: SMTP(self), "127.0.0.1", self.port)
        self._server = self._run(serve())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close():
            self._server.close()
            await self._server.wait_closed()
        self._run(close())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)


def attachment(message: Message) -> tuple[str, bytes] | None:
    """The first attachment of a received message: (file name, bytes)."""
    for part in message.walk():
        if part.get_content_disposition() == "attachment":
            return part.get_filename(), part.get_payload(decode=True)
    return None
