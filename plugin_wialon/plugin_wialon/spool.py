"""The plugin's side of a CDR spool folder: one run at a time, files that appear whole,
and the lines already written that the billing has not taken yet.

- `locked` holds `<spool>/.wialon.lock` (a dotfile: the intake leaves it alone) for the
  whole run, so a run by hand and the scheduled one never write the same day twice;
- `write` writes the lines into a dotfile, flushes it to disk, and only then links it
  under its final name `wialon_<day>_<HHMMSS>.cdr` (the intake reads the day from it).
  A crash before the link leaves a dotfile that the next run deletes; after it, a whole
  file that the intake takes. The file is dated back by the spool's settle time: it is
  complete when it appears, so there is no growing to wait for;
- `waiting_lines` reads the (ext_id, sensor type) of every line of the day still in the
  spool folder or in its work/ folder (claimed by an intake that has not finished), so a
  run counts none of them again.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

from core import AbonentError, CDR_WORK, CdrLine, day_in_name, format_line, parse_line, read_lines

LOCK_NAME = ".wialon.lock"
PART_PREFIX = ".wialon-"
PART_SUFFIX = ".part"
IN_PROGRESS_SUFFIXES = (".tmp", ".part")


class RunInProgress(AbonentError):
    """Another counting run holds this spool folder."""


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    digest: str
    lines: int


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's run lock (created with the folder if need be), or raise
    RunInProgress at once. Released when the block ends, or by the system if the
    process dies."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgress(f"another Wialon counting run is writing to {folder}; "
                                f"try again when it has finished") from None
        yield


def drop_unfinished(folder: Path) -> int:
    """Delete what a crashed run left half-written (call it under the lock)."""
    dropped = 0
    for path in folder.glob(f"{PART_PREFIX}*{PART_SUFFIX}"):
        path.unlink(missing_ok=True)
        dropped += 1
    return dropped


def waiting_lines(folder: Path, day: date) -> set[tuple[str, int]]:
    """(ext_id, sensor type id) of each line of `day` not yet taken in by the billing."""
    found: set[tuple[str, int]] = set()
    for place in (folder, folder / CDR_WORK):
        if not place.is_dir():
            continue
        for path in place.iterdir():
            name = path.name
            if (name.startswith(".") or name.endswith(IN_PROGRESS_SUFFIXES)
                    or not path.is_file() or day_in_name(name) != day):
                continue
            try:
                with open(path, "rb") as stream:
                    for raw in read_lines(stream):
                        line = parse_line(raw)
                        if isinstance(line, CdrLine):
                            found.add((line.ext_id, line.sensor_type_id))
            except FileNotFoundError:
                continue  # taken meanwhile: its records are in the database
    return found


def write(folder: Path, day: date, lines: list[CdrLine], settle_seconds: float) -> WrittenFile:
    """Write `lines` as the day's new spool file, whole or not at all."""
    part = folder / f"{PART_PREFIX}{day.isoformat()}-{os.getpid()}{PART_SUFFIX}"
    digest = hashlib.sha256()
    with open(part, "wb") as out:
        for line in lines:
            data = format_line(line)
            digest.update(data)
            out.write(data)
        out.flush()
        os.fsync(out.fileno())
    settled = time.time() - settle_seconds - 1
    os.utime(part, (settled, settled))
    stamp = datetime.now(timezone.utc).strftime("%H%M%S")
    base, attempt = f"wialon_{day.isoformat()}_{stamp}", 1
    while True:
        target = folder / (f"{base}.cdr" if attempt == 1 else f"{base}-{attempt}.cdr")
        try:
            os.link(part, target)  # unlike a rename, never replaces a file of that name
            break
        except FileExistsError:
            attempt += 1
    part.unlink()
    _sync_folder(folder)
    return WrittenFile(target, digest.hexdigest(), len(lines))


def _sync_folder(folder: Path) -> None:
    """Make the new name durable, so a power cut cannot lose a file the run reported."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
