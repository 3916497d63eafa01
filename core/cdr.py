"""The CDR spool: files of usage lines dropped by collectors, taken in and rated.

Each source has a spool folder `<var_dir>/cdr/<source>/` (e.g. `Wialon_1`), where a
collector drops files of lines `ext_id;unit_id;sensor_type_id;value` (`777;5;1;6`: six
objects of sensor type 1, in pcs, for ext_id 777), as Carbon Billing's daily Wialon job
writes them.

Taking a file is safe against writers and crashes:
- names starting with "." or ending ".tmp" / ".part" are a writer's work in progress
  (writers write there and rename when done), and a file modified within the last
  `[cdr] settle_seconds`, or whose size or mtime changed between two looks, is still
  growing: all are left alone until a later intake;
- a file is claimed by an atomic rename into `<spool>/work/`, rated in one transaction,
  then moved to `<spool>/done/` (with a numeric suffix when the name is taken). A crash
  in between, or a failure while rating it (a plugin's pricing service down), leaves it
  in work/, and the next intake takes work/ first; a failed file never stops the others;
- a line's record key is what the usage is, not where it was written (`record_key`):
  `<source>:<day>:<ext_id>:<unit_id>:<sensor_type_id>`, with `#<n>` appended for the n-th
  (n ≥ 2) line of the same identity in one file. So a file taken twice (re-dropped,
  retaken from work/, or renamed and dropped again for the same day) adds nothing, while
  byte-identical content for another day (a Wialon file whenever no count changed) is
  charged on its own day. Records taken before this rule keep their old keys
  (`<source>:<sha256 of the file>:<line number>`); a file already taken under them and
  dropped again would be charged once more, so do not re-drop files taken before the
  upgrade.

Broken lines never stop the good ones: they go to `<spool>/rejects/<file>.rej` as
`line_no;original line;reason`, next to the records rejected at rating (unknown ext_id…),
which are also kept in usage_record with their reason. Every take is recorded in
cdr_file, a re-dropped file too (with everything counted as duplicates).

The day of the usage is the first date written YYYY-MM-DD or YYYYMMDD in the file's name
(`wialon_2024-05-01.cdr`), else the operator's today when the file is taken. A file whose
day is outside the usage window (`[billing] usage_days_back`, none in the future) has
every line set aside in rejects/ with that reason.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, Iterator, NamedTuple

from core.clock import now
from core.errors import NotFound, ValidationError
from core.models import CdrFile
from core.runtime import Runtime
from core.services import inputs
from core.services.dates import operator_today, usage_window
from core.usage import CHUNK, ID_MAX, KEY_MAX, RatingRun

log = logging.getLogger(__name__)

#: A source's name is part of every record key, which must fit a charge key.
SOURCE = r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,39}"
#: Longest line taken, in bytes without its line end; a longer one is refused unread.
MAX_LINE = 1000
WORK, DONE, REJECTS = "work", "done", "rejects"
_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_VALUE_INT_DIGITS = 12  # NUMERIC(18, 6) holds values below 10**12
#: A line as collectors write it: printable ASCII ext_id, ids below 10**9, a value below
#: 10**12 with at most 6 decimals; then "\r\n", "\n" or nothing.
_PLAIN = re.compile(rb"([!-:<-~]{1,100});([0-9]{1,9});([0-9]{1,9});"
                    rb"([0-9]{1,12}(?:\.[0-9]{1,6})?)\r?\n?")
_DAY_IN_NAME = re.compile(r"(?<![0-9])(?:([0-9]{4})-([0-9]{2})-([0-9]{2})|"
                          r"([0-9]{4})([0-9]{2})([0-9]{2}))(?![0-9])")


# --- one line ----------------------------------------------------------------------------

class CdrLine(NamedTuple):
    ext_id: str
    unit_id: int
    sensor_type_id: int
    value: Decimal


def parse_line(raw: bytes) -> CdrLine | str | None:
    """One spool line (with or without its line end) → the parsed line, None for an
    empty line, or the reason it is refused. Pure: no I/O, never raises.

    A plain ASCII line (what collectors write) is read by one regular expression; any
    other goes through `parse_line_fully`, which gives the same result for plain lines.
    """
    plain = _PLAIN.fullmatch(raw)
    if plain is None:
        return parse_line_fully(raw)
    ext_id, unit, sensor, value = plain.groups()
    return CdrLine(ext_id.decode("ascii"), int(unit), int(sensor), Decimal(value.decode("ascii")))


def parse_line_fully(raw: bytes) -> CdrLine | str | None:
    """`parse_line`, field by field, naming what is wrong."""
    line = raw[:-1] if raw.endswith(b"\n") else raw
    line = line[:-1] if line.endswith(b"\r") else line
    if not line.strip():
        return None
    if len(line) > MAX_LINE:
        return f"line is longer than {MAX_LINE} bytes"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (byte {line[exc.start]:#04x} at position {exc.start})"
    fields = [part.strip() for part in text.split(";")]
    if len(fields) != 4:
        return f"expected 4 fields ext_id;unit_id;sensor_type_id;value, got {len(fields)}"
    ext_id, unit, sensor, value = fields
    if not ext_id:
        return "ext_id is empty"
    if len(ext_id) > 100:
        return "ext_id is longer than 100 characters"
    if any(ch.isspace() or not ch.isprintable() for ch in ext_id):
        return f"ext_id {ext_id[:40]!r} contains a space or a control character"
    numbers = []
    for name, field in (("unit_id", unit), ("sensor_type_id", sensor)):
        if not _DIGITS.fullmatch(field):
            return f"{name} {field[:40]!r} is not a whole number"
        if len(field) > 10 or int(field) > ID_MAX:
            return f"{name} {field[:40]} is too large"
        numbers.append(int(field))
    amount = _value(value)
    if isinstance(amount, str):
        return amount
    return CdrLine(ext_id, numbers[0], numbers[1], amount)


def _value(field: str) -> Decimal | str:
    """A measured value: digits, optionally a point and at most 6 decimals, below 10**12
    (what NUMERIC(18, 6) holds); or the reason it is refused."""
    if not _NUMBER.fullmatch(field):
        return f"value {field[:40]!r} is not a number (digits, optionally a point and decimals)"
    if field.startswith("-"):
        return f"value {field[:40]} is negative"
    whole, _, fraction = field.partition(".")
    if len(fraction) > 6:
        return f"value {field[:40]} has more than 6 decimal places"
    if len(whole.lstrip("0")) > _VALUE_INT_DIGITS:
        return (f"value {field[:40]} is too large "
                f"(at most {_VALUE_INT_DIGITS} digits before the point)")
    return Decimal(field)


def format_line(line: CdrLine) -> bytes:
    """A parsed line written back as a collector writes it (what `parse_line` reads)."""
    value = format(line.value.normalize(), "f")
    return f"{line.ext_id};{line.unit_id};{line.sensor_type_id};{value}\n".encode()


def day_in_name(name: str) -> date | None:
    """The first valid date written YYYY-MM-DD or YYYYMMDD in a file name, if any."""
    for match in _DAY_IN_NAME.finditer(name):
        year, month, day = (int(g) for g in match.groups() if g is not None)
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


def read_lines(stream: BinaryIO, max_line: int = MAX_LINE) -> Iterator[bytes]:
    """The lines of a file, each cut at `max_line` + 2 bytes (room for a "\\r\\n"): the
    rest of a longer line is skipped unread and the cut line is longer than a parser
    takes, so a line without an end cannot fill the memory."""
    limit = max_line + 2
    while raw := stream.readline(limit):
        if len(raw) == limit and not raw.endswith(b"\n"):
            while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
                pass
        yield raw


# --- one file ----------------------------------------------------------------------------

@dataclass
class FileReport:
    """What became of one file: lines = taken + duplicates + rejected (empty lines are
    not counted); `amount` is what its taken lines charged. `error` says why a file
    could not be taken (it stays in work/ and is taken again by the next intake)."""

    source: str
    name: str
    day: date | None = None
    digest: str | None = None
    error: str | None = None
    lines: int = 0
    taken: int = 0
    duplicates: int = 0
    rejected: int = 0
    amount: Decimal = Decimal("0.00")
    blocked: int = 0
    cdr_file_id: int | None = None
    done: Path | None = None
    rejects: Path | None = None


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/name.1`, `.2`… when taken."""
    target, n = folder / name, 0
    while target.exists():
        n += 1
        target = folder / f"{name}.{n}"
    return target


class Spool:
    """One source's spool folder and its work/, done/ and rejects/ subfolders."""

    def __init__(self, root: Path, source: str):
        self.source = source
        self.path = root / source
        for sub in (WORK, DONE, REJECTS):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    def leftovers(self) -> list[Path]:
        """Files claimed by an intake that did not finish (a crash): taken first."""
        return sorted(p for p in (self.path / WORK).iterdir() if p.is_file())

    def settled(self, settle_seconds: float) -> list[tuple[Path, tuple[int, int]]]:
        """Files ready to take, oldest first, with their first look (size, mtime)."""
        found = []
        wall = time.time()
        for entry in os.scandir(self.path):
            name = entry.name
            if name.startswith(".") or name.endswith((".tmp", ".part")):
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            info = entry.stat(follow_symlinks=False)
            if wall - info.st_mtime < settle_seconds:
                continue
            found.append((Path(entry.path), (info.st_size, info.st_mtime_ns)))
        return sorted(found, key=lambda item: (item[1][1], item[0].name))

    def claim(self, path: Path, look: tuple[int, int]) -> Path | None:
        """Move a settled file into work/ (atomic), unless it changed since its first look
        (still growing) or another intake took it first."""
        try:
            info = path.stat()
        except FileNotFoundError:
            return None
        if (info.st_size, info.st_mtime_ns) != look:
            return None
        target = _free_name(self.path / WORK, path.name)
        try:
            path.rename(target)
        except FileNotFoundError:
            return None
        return target

    def take(self, runtime: Runtime, path: Path) -> FileReport:
        """Rate a claimed file in one transaction, then move it to done/."""
        digest = _digest(path)
        rejects_part = self.path / REJECTS / f".{path.name}.rej.part"
        try:
            with open(rejects_part, "wb") as rejects, \
                    runtime.session(actor=f"cdr:{self.source}") as session:
                day = day_in_name(path.name) or operator_today(session)
                report = FileReport(self.source, path.name, day, digest)
                try:
                    usage_window(session).check(day, "day")
                except ValidationError as exc:
                    _refuse_file(path, report, rejects, f"day {exc.reason}")
                else:
                    _rate_file(session, path, report, rejects)
                record = CdrFile(source=self.source, name=path.name, digest=digest,
                                 lines=report.lines, taken=report.taken,
                                 duplicates=report.duplicates, rejected=report.rejected,
                                 taken_at=now())
                session.add(record)
                session.flush()
                report.cdr_file_id = record.id
        except BaseException:
            rejects_part.unlink(missing_ok=True)
            raise
        report.done = _free_name(self.path / DONE, path.name)
        try:
            path.rename(report.done)
        except FileNotFoundError:  # a concurrent intake took the same leftover to done/
            report.done = None
        if rejects_part.stat().st_size:
            report.rejects = self.path / REJECTS / f"{report.done.name}.rej"
            rejects_part.rename(report.rejects)
        else:
            rejects_part.unlink()
        return report


def record_key(source: str, day: date, line: CdrLine, occurrence: int = 1) -> str:
    """The record key of a spool line: its source, its day and its own identity (ext_id,
    unit, sensor type; `#<occurrence>` from the second line of that identity in a file).
    Parsed from the right it is unambiguous (the ids are digits; an ext_id may hold ":").
    A key longer than KEY_MAX (a long ext_id) becomes `<source>:<day>:#<sha256 of the
    identity>`, which no plain key can equal (a plain key ends in `:<digits>`)."""
    identity = f"{line.ext_id}:{line.unit_id}:{line.sensor_type_id}"
    if occurrence > 1:
        identity += f"#{occurrence}"
    key = f"{source}:{day.isoformat()}:{identity}"
    if len(key) <= KEY_MAX:
        return key
    return f"{source}:{day.isoformat()}:#{hashlib.sha256(identity.encode()).hexdigest()}"


def _rate_file(session, path: Path, report: FileReport, rejects: BinaryIO) -> None:
    """Parse the file by chunks, rate each chunk, and write its refused lines in order."""
    run = RatingRun(session)
    seen: dict[tuple[str, int, int], int] = {}  # identity → lines of it so far in the file
    with open(path, "rb") as stream:
        numbered = enumerate(read_lines(stream), 1)
        while True:
            rows, kept, refused = [], {}, []
            for number, raw in numbered:
                parsed = parse_line(raw)
                if parsed is None:
                    continue
                content = raw.rstrip(b"\n").removesuffix(b"\r")
                if isinstance(parsed, str):
                    refused.append((number, content, parsed))
                else:
                    identity = parsed[:3]
                    seen[identity] = occurrence = seen.get(identity, 0) + 1
                    key = record_key(report.source, report.day, parsed, occurrence)
                    rows.append((key, report.source, parsed.ext_id, parsed.unit_id,
                                 parsed.sensor_type_id, parsed.value, report.day))
                    kept[key] = (number, content)
                if len(rows) + len(refused) >= CHUNK:
                    break
            if not rows and not refused:
                break
            report.lines += len(rows) + len(refused)
            if rows:
                for key, reason in run.add(rows):
                    refused.append((*kept[key], reason))
            refused.sort(key=lambda item: item[0])
            rejects.writelines(f"{n};".encode() + content + f";{reason}\n".encode()
                               for n, content, reason in refused)
    summary = run.finish()
    report.taken, report.duplicates, report.amount, report.blocked = (
        summary.rated, summary.duplicates, summary.amount, summary.blocked)
    report.rejected = report.lines - report.taken - report.duplicates
    if report.lines == 0:
        rejects.write(b"0;;empty file\n")


def _refuse_file(path: Path, report: FileReport, rejects: BinaryIO, reason: str) -> None:
    """Set every line of a file aside with one reason (its day is outside the usage
    window: a file named for 2999 is charged never, not today)."""
    with open(path, "rb") as stream:
        for number, raw in enumerate(read_lines(stream), 1):
            if parse_line(raw) is not None:
                rejects.write(f"{number};".encode() + raw.rstrip(b"\n").removesuffix(b"\r")
                              + f";{reason}\n".encode())
                report.lines += 1
    report.rejected = report.lines


# --- intake ------------------------------------------------------------------------------

def spool_root(runtime: Runtime) -> Path:
    return Path(runtime.settings.var_dir) / "cdr"


def intake(runtime: Runtime, source: str | None = None) -> list[FileReport]:
    """Take every settled file of every source's spool (or of `source` only), leftovers
    in work/ first; each file in its own transaction. Returns a report per file taken."""
    root = spool_root(runtime)
    if source is not None:
        source = check_source(source)
        if not (root / source).is_dir():
            raise NotFound("source", f"no spool folder {root / source}")
        sources = [source]
    else:
        sources = sorted(p.name for p in root.iterdir()
                         if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    settle = runtime.settings.section("cdr")["settle_seconds"]
    reports = []
    for name in sources:
        try:
            check_source(name)
        except ValidationError as exc:
            log.warning("spool folder %s skipped: %s", root / name, exc)
            continue
        spool = Spool(root, name)
        for path in spool.leftovers():
            reports.append(_take_or_report(runtime, spool, path))
        for path, look in spool.settled(settle):
            claimed = spool.claim(path, look)  # the second look: right before taking it
            if claimed is not None:
                reports.append(_take_or_report(runtime, spool, claimed))
    return reports


def _take_or_report(runtime: Runtime, spool: Spool, path: Path) -> FileReport:
    """Take one claimed file; a failure (a plugin's pricing service down, the database
    gone) is reported and leaves the file in work/, without stopping the other files."""
    try:
        return spool.take(runtime, path)
    except Exception as exc:
        log.exception("CDR file %s not taken; it stays in %s", path.name, path.parent)
        return FileReport(spool.source, path.name, error=f"{type(exc).__name__}: {exc}")


def check_source(value) -> str:
    """A source name as spools use it (part of every record key), or ValidationError."""
    return inputs.text(value, "source", max_len=40, pattern=SOURCE,
                       what="letters, digits and _ . - only (at most 40)")
