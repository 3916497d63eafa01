"""An emulated NAS for tests and the demo: it answers CoA / Disconnect-Requests on UDP as a
strict NAS does, keeps subscriber sessions and their policies, and stages faults (silence,
an answer lost after the request was applied, NAKs). See `server` and `state`."""
from plugin_nas_oss.emulator.server import NasEmulator, Received
from plugin_nas_oss.emulator.state import Applied, NasState, Session

__all__ = ["Applied", "NasEmulator", "NasState", "Received", "Session"]
