"""`abonent import subscribers FILE`: migration in from another billing's or 1C's CSV."""
from __future__ import annotations

from pathlib import Path

import click

from admin.cli import OutputFile, State, cli, pass_state, write_report
from core.errors import ValidationError
from core.import_subscribers import MAX_BYTES, import_subscribers


@cli.group("import")
def import_group() -> None:
    """Migration in: subscribers, contracts, accounts and opening balances."""


def read_file(path: Path) -> bytes:
    """The file's bytes, or a ValidationError naming `file` (a folder, unreadable, huge)."""
    try:
        if not path.is_file():
            raise ValidationError("file", f"{str(path)[:80]} is not a file")
        if path.stat().st_size > MAX_BYTES:
            raise ValidationError("file", f"is larger than {MAX_BYTES // 2**20} MB: import "
                                          f"it in parts")
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError("file", f"{str(path)[:80]} cannot be read: "
                                      f"{exc.strerror or exc}") from None


@import_group.command("subscribers")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every line and write nothing.")
@click.option("--source", default="import", show_default=True,
              help="Where the file comes from (external ids are unique per source).")
@click.option("--report", "report_path", type=OutputFile(),
              help="Also write the per-line report to this CSV file.")
@pass_state
def import_subscribers_command(state: State, file: Path, dry_run: bool, source: str,
                               report_path: Path | None) -> None:
    """Import subscribers, contracts, accounts and opening balances from a CSV file with
    a header row (columns: name, phone, email, address, tax_id, contract, login, tariff,
    agent, balance, external_id; or 1C's Russian titles); ';' or ',', UTF-8 or cp1251.
    Exits 1 when a line was rejected."""
    report = import_subscribers(state.ready(), read_file(file), name=file.name,
                                source=source, dry_run=dry_run)
    for line in report.lines:
        problem = f" - {line.field}: {line.reason}" if line.field else (
            f" - {line.reason}" if line.reason else "")
        contract = f" {line.contract}" if line.contract else ""
        click.echo(f"line {line.line}: {line.outcome}{contract}{problem}")
    click.echo(report.summary())
    write_report(report, report_path)
    if report.count("rejected"):
        raise SystemExit(1)
