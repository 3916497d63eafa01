"""Customers → Import: a CSV export of another billing or 1C (core.import_subscribers)
uploaded, checked by a dry run whose report per line is shown, then imported.

The uploaded file is kept under `var/imports/` between the dry run and the import, named
by a random token the page carries (the browser cannot send a file twice without the
person picking it again); the import deletes it. Importing writes subscribers, contracts,
accounts and opening balances, so it needs `subscribers:create`, `contracts:create`,
`accounts:create` and `payments:credit`; each line is audited with the manager as actor,
and the run itself too.
"""
from __future__ import annotations

import re
import secrets
from pathlib import Path

from flask import abort, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from admin.db import actor, manager_session, runtime
from admin.forms import reason
from admin.views.base import GuardedView, needs
from core.audit import audit
from core.errors import ValidationError
from core.import_subscribers import MAX_BYTES, import_subscribers

#: besides subscribers:create, what an import writes
ALSO_NEEDED = ("contracts:create", "accounts:create", "payments:credit")
TOKEN = re.compile(r"[0-9a-f]{32}")


def _folder() -> Path:
    folder = Path(runtime().settings.var_dir) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _held(token: str) -> Path:
    """The file a dry run kept, by its token; 404 when there is none (imported already,
    or a token made up)."""
    if not TOKEN.fullmatch(token or ""):
        abort(404)
    path = _folder() / f"{token}.csv"
    if not path.is_file():
        abort(404, description=_("The checked file is gone: it was imported already, or "
                                 "upload it again."))
    return path


class ImportView(GuardedView):
    area = "subscribers"

    def is_visible(self) -> bool:
        return current_user.is_authenticated and self.can("create")

    def _page(self, **context):
        return self.render("abonent/import.html", max_mb=MAX_BYTES // 2**20, **context)

    @expose("/")
    def index(self):
        return self._page()

    @expose("/check", methods=["POST"])
    @needs("create")
    def check(self):
        """The dry run of an uploaded file; the file is kept for the import."""
        self._writer()
        upload = request.files.get("file")
        source = request.form.get("source", "import")
        data = upload.read(MAX_BYTES + 1) if upload else b""
        if not data:
            return self._page(error=("file", _("Choose a CSV file.")), source=source)
        name = Path(upload.filename or "upload.csv").name[:100]
        try:
            report = import_subscribers(runtime(), data, name=name, source=source,
                                        dry_run=True, actor=actor())
        except ValidationError as exc:
            return self._page(error=(exc.field, reason(exc)), source=source)
        token = secrets.token_hex(16)
        (_folder() / f"{token}.csv").write_bytes(data)
        return self._page(report=report, token=token, source=source)

    @expose("/run/<token>", methods=["POST"])
    @needs("create")
    def run(self, token: str):
        """Import the file a dry run checked (the same bytes), then forget it."""
        self._writer()
        path = _held(token)
        source = request.form.get("source", "import")
        name = request.form.get("name", "upload.csv")[:100]
        try:
            report = import_subscribers(runtime(), path.read_bytes(), name=name,
                                        source=source, actor=actor())
        except ValidationError as exc:
            return self._page(error=(exc.field, reason(exc)), source=source)
        path.unlink(missing_ok=True)
        with manager_session() as session:
            audit(session, "import.subscribers", "import", source,
                  {"file": name, "created": report.count("created"),
                   "already_imported": report.count("already imported"),
                   "rejected": report.count("rejected")})
        return self._page(report=report, source=source)

    def _writer(self) -> None:
        missing = [p for p in ALSO_NEEDED if not current_user.can(p)]
        if missing:
            abort(403, description=missing[0])
