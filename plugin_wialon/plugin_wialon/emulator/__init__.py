"""A Wialon Remote API emulator for testing the billing's unit counting.

It speaks the subset of the protocol the billing uses (token/login,
core/search_items, account/get_account_data, core/batch, core/logout) over a
real socket, with Wialon's limits (10 concurrent requests per session, idle
sessions, failed-login throttling) and switches to inject the failures the
billing must survive.  Where the documentation leaves a choice of error code,
``services`` says which one the emulator answers and why.
"""

from .seed import DEMO_ACCOUNT_ID, DEMO_TOKEN, DEMO_USER, load_demo
from .server import WialonEmulator
from .state import ApiError, EmulatorState

__all__ = ["WialonEmulator", "EmulatorState", "ApiError", "load_demo", "DEMO_ACCOUNT_ID",
           "DEMO_TOKEN", "DEMO_USER"]
