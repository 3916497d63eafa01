"""Admin sessions held on the server, so that ending one is final (core.server_sessions):
a manager's `staff_session` rows, let in while the manager is active."""
from __future__ import annotations

from core.models import Manager, StaffSession
from core.server_sessions import ServerSessions

STAFF = ServerSessions(StaffSession, Manager, allowed=lambda manager: manager.active)

open_session = STAFF.open
manager_of = STAFF.owner_of
end = STAFF.end
end_all = STAFF.end_all
