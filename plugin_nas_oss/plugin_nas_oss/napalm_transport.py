"""NAPALM: the transport for NASes configured rather than signalled — static-IP accounts'
ACLs and address lists — and the getters users_from_nas and the diagnostics read.

A change is NAPALM's candidate-configuration dance, each step recorded in `Change.steps`
(the command log shows them): open → load_merge_candidate(config) → compare_config() →
commit_config() when the diff is not empty, discard_config() when it is (nothing to
do: the command was applied before, e.g. its answer was lost) → close. When the commit
fails, rollback() puts the device back; when loading or comparing fails, the candidate
is discarded. Outcomes, for the caller to map to an outbox outcome once:
"committed", "unchanged" (done), "unreachable" (the device could not be opened: deliver
later) and "refused" (the device would not take the change: a dead letter with `error`).

napalm is an optional extra of the distribution (`abonent-nas-oss[napalm]`): it is
imported when a NAS with a driver is used, and a missing install says so.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from plugin_nas_oss.agent import NasSettings

log = logging.getLogger("abonent.nas_oss.napalm")

COMMITTED, UNCHANGED, UNREACHABLE, REFUSED = "committed", "unchanged", "unreachable", "refused"


class NapalmMissing(RuntimeError):
    """napalm is not installed (the distribution's optional extra)."""


@dataclass
class Change:
    outcome: str
    diff: str = ""
    steps: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.outcome in (COMMITTED, UNCHANGED)


def _napalm():
    try:
        import napalm
        import napalm.base.exceptions as errors
    except ImportError:
        raise NapalmMissing("napalm is not installed: "
                            "pip install 'abonent-nas-oss[napalm]'") from None
    return napalm, errors


def driver(nas: NasSettings, optional_args: dict[str, Any] | None = None):
    """The NAS's NAPALM driver, not opened yet (ValueError when the NAS has none)."""
    if not nas.napalm_driver:
        raise ValueError(f"NAS agent {nas.agent_id} has no NAPALM driver")
    napalm, _ = _napalm()
    cls = napalm.get_network_driver(nas.napalm_driver)
    return cls(hostname=nas.napalm_host, username=nas.napalm_username or "",
               password=nas.napalm_password or "", timeout=max(1, int(nas.timeout)),
               optional_args=optional_args or {})


def _opened(nas: NasSettings, optional_args, change: Change):
    _, errors = _napalm()
    device = driver(nas, optional_args)
    try:
        device.open()
    except (errors.ConnectionException, OSError) as exc:
        change.outcome, change.error = UNREACHABLE, f"{type(exc).__name__}: {exc}"
        return None
    change.steps.append("open")
    return device


def apply_config(nas: NasSettings, config: str, optional_args: dict[str, Any] | None = None
                 ) -> Change:
    """Merge `config` into the NAS's configuration (see the module's docstring)."""
    change = Change(outcome=REFUSED)
    device = _opened(nas, optional_args, change)
    if device is None:
        return change
    committing = False
    try:
        device.load_merge_candidate(config=config)
        change.steps.append("load_merge_candidate")
        change.diff = device.compare_config() or ""
        change.steps.append("compare_config")
        if change.diff.strip():
            committing = True
            device.commit_config()
            change.steps.append("commit_config")
            change.outcome = COMMITTED
        else:
            device.discard_config()
            change.steps.append("discard_config")
            change.outcome = UNCHANGED
    except Exception as exc:  # the driver's own exceptions differ per vendor
        change.outcome, change.error = REFUSED, f"{type(exc).__name__}: {exc}"
        _undo(device, change, "rollback" if committing else "discard_config")
    finally:
        device.close()
    return change


def _undo(device, change: Change, step: str) -> None:
    try:
        getattr(device, step)()
        change.steps.append(step)
    except Exception as exc:  # the first error is the one to report; this one is logged
        change.steps.append(f"{step} failed")
        log.warning("NAPALM %s after a failed change failed too: %s", step, exc)


def getter(nas: NasSettings, name: str, optional_args: dict[str, Any] | None = None, **kwargs):
    """The result of one NAPALM getter (get_arp_table, ping…); ConnectionError when the
    device cannot be opened, ValueError for a name that is no getter."""
    if not (name.startswith("get_") or name in ("ping", "traceroute")):
        raise ValueError(f"{name!r} is not a NAPALM getter")
    change = Change(outcome=REFUSED)
    device = _opened(nas, optional_args, change)
    if device is None:
        raise ConnectionError(change.error)
    try:
        return getattr(device, name)(**kwargs)
    finally:
        device.close()
