"""An emulator of SGT's SMS: its XML-RPC API over a real socket, with SGT's rules.

    with JamboxEmulator(login="op", password="secret") as emu:
        client = JamboxClient(emu.url, "op", "secret")
        client.cust_add({...})
        emu.sms.customers        # the state, to inspect and steer

Run it as a process with ``python -m plugin_jambox.emulator --port 8126 --demo``. Every
module of methods found beside this one registers its methods on import (see
:mod:`plugin_jambox.emulator.methods`).
"""
from importlib import import_module
from importlib.util import find_spec

from .methods import REGISTRY, method
from .server import JamboxEmulator
from .state import Sms

#: the modules whose methods make up the SMS; "billing" is the billing events' own
METHOD_MODULES = ("customers", "packages", "devices", "messages", "billing")

for _name in METHOD_MODULES:
    if find_spec(f"{__name__}.{_name}") is not None:
        import_module(f"{__name__}.{_name}")

__all__ = ["JamboxEmulator", "REGISTRY", "Sms", "method"]
