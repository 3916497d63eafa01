"""The emulated NAS as a RADIUS client of the billing: a subscriber logging in is an
Access-Request (Message-Authenticator always, as after BlastRADIUS), an accepted one gets a
session on the emulator with the policies of the Access-Accept and an Accounting-Start; a
logout is an Accounting-Stop. Tests and the demo use it to make sessions the way a NAS
does."""
from __future__ import annotations

from pyrad import packet
from pyrad.client import Client

from plugin_nas_oss import dictionary
from plugin_nas_oss.emulator.server import NasEmulator
from plugin_nas_oss.emulator.state import Session

#: Access-Accept attributes the emulated NAS applies to the new session.
_POLICY = {"Mikrotik-Address-List": "address_list", "Mikrotik-Rate-Limit": "rate",
           "Filter-Id": "filter_id"}


class RadiusPeer:
    """Sends the emulator's Access / Accounting-Requests to a RADIUS server."""

    def __init__(self, emulator: NasEmulator, host: str, auth_port: int, acct_port: int,
                 secret: str, nas_ip: str = "127.0.0.1", timeout: float = 2.0):
        self.emulator, self.nas_ip = emulator, nas_ip
        self.client = Client(server=host, authport=auth_port, acctport=acct_port,
                             secret=secret.encode(), dict=dictionary.load(), timeout=timeout,
                             retries=2, enforce_ma=True)

    def login(self, username: str, password: str | None = None, ip: str | None = None,
              mac: str | None = None) -> Session | None:
        """Authenticate; on Access-Accept open the session and account its start.
        Returns the session, or None when the server rejected the login."""
        request = self.client.CreateAuthPacket(code=packet.AccessRequest, User_Name=username)
        request["NAS-IP-Address"] = self.nas_ip
        request["Service-Type"] = "Framed-User"
        if password is not None:
            request["User-Password"] = request.PwCrypt(password)
        if mac:
            request["Calling-Station-Id"] = mac
        if ip:
            request["Framed-IP-Address"] = ip
        reply = self.client.SendPacket(request)
        if reply.code != packet.AccessAccept:
            return None
        given = reply.get("Framed-IP-Address")
        session = self.emulator.state.open_session(username, given[0] if given else ip, mac)
        for name, attribute in _POLICY.items():
            if name in reply:
                setattr(session, attribute, reply[name][0])
        self._account(session, "Start")
        return session

    def logout(self, session: Session) -> None:
        """End the session on the NAS and account its stop."""
        with self.emulator.state.lock:
            self.emulator.state.sessions.pop(session.session_id, None)
        self._account(session, "Stop")

    def _account(self, session: Session, status: str) -> None:
        request = self.client.CreateAcctPacket(User_Name=session.username)
        request["Acct-Status-Type"] = status
        request["Acct-Session-Id"] = session.session_id
        request["NAS-IP-Address"] = self.nas_ip
        if session.ip:
            request["Framed-IP-Address"] = session.ip
        if session.mac:
            request["Calling-Station-Id"] = session.mac
        if status == "Stop":
            request["Acct-Terminate-Cause"] = "User-Request"
        self.client.SendPacket(request)
