"""An emulator of the 24h TV platform: its provider API over real HTTP, its callbacks to
the billing, and failures on demand.

    with Tv24Emulator(token="t") as emu:
        client = Tv24Client(emu.url, "t")
        ...
        emu.faults.fail_next(2, status=503)

Run it as a process with ``python -m plugin_tv24.emulator --port 8124 --demo``.
"""

from .callbacks import CallbackClient, CallbackError
from .catalog import DEFAULT_PACKETS, Packet
from .faults import Faults
from .server import Tv24Emulator
from .state import Tv24State

__all__ = ["DEFAULT_PACKETS", "CallbackClient", "CallbackError", "Faults", "Packet", "Tv24Emulator", "Tv24State"]
