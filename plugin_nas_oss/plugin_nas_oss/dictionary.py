"""The RADIUS dictionary the plugin, its RADIUS server and its emulator share: trimmed
copies of FreeRADIUS's RFC 2865/2866/2869/5176 attributes and of the MikroTik, Cisco and
ERX vendor files, shipped as package data so no system dictionary is needed."""
from __future__ import annotations

import functools
from importlib import resources

from pyrad.dictionary import Dictionary

FILES = ("dictionary", "dictionary.mikrotik", "dictionary.cisco", "dictionary.erx")


@functools.cache
def load() -> Dictionary:
    """The dictionary, parsed once per process."""
    folder = resources.files("plugin_nas_oss") / "dictionaries"
    with resources.as_file(folder) as path:
        return Dictionary(*(str(path / name) for name in FILES))


def error_cause_name(code: int | str) -> str:
    """Error-Cause's name from RFC 5176 (e.g. 503 → "Session-Context-Not-Found")."""
    if isinstance(code, str):
        return code
    values = load().attributes["Error-Cause"].values
    for name, raw in values.forward.items():
        if int.from_bytes(raw, "big") == code:
            return name
    return f"Error-Cause {code}"
