"""Operations pages: the event outbox, the installed plugins, the scheduled jobs."""
from __future__ import annotations

import logging
import threading

from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import select

from admin.db import manager_session, runtime
from admin.views.base import GuardedView, key, needs, page_number
from core.audit import audit
from core.jobs import MANUAL, job_specs, last_runs, run_job, summary_of
from core.models import Account
from plugins import outbox
from plugins.registry import describe

log = logging.getLogger("abonent.admin")

PAGE = 50
#: what the outbox page lists for each tab: (state, failing)
TABS = {"pending": ("pending", False), "failing": (None, True), "dead": ("dead", False),
        "done": ("done", False), "all": (None, False)}


class OutboxView(GuardedView):
    """Deliveries of events to plugins: pending, failing (with the last error), dead;
    retried one by one or all at once; filtered by plugin and account."""

    area = "outbox"

    def _account_id(self, session, raw: str) -> int | None:
        raw = (raw or "").strip()
        if not raw:
            return None
        if raw.isdecimal():  # an account id; a number no account can have matches none
            number = key(raw)
            return -1 if number is None else number
        found = session.scalar(select(Account.id).where(Account.login == raw)
                               .order_by(Account.trashed_at.is_not(None), Account.id))
        return found if found is not None else -1

    @expose("/")
    def index(self):
        tab = request.args.get("state", "failing")
        if tab not in TABS:
            tab = "failing"
        plugin = request.args.get("plugin") or None
        page = page_number()
        state, failing = TABS[tab]
        with manager_session() as session:
            account_id = self._account_id(session, request.args.get("account", ""))
            totals = {**outbox.counts(session), **outbox.flow(session)}
            rows = outbox.list_deliveries(session, state=state, plugin=plugin,
                                          account_id=account_id, failing=failing,
                                          limit=PAGE + 1, offset=page * PAGE)
            plugins = sorted({p for p, _ in totals} | set(outbox.Outbox(runtime()).plugins))
            summary = {p: {k: totals.get((p, k), 0) for k in (
                "pending", "oldest_seconds", "per_minute", "failing", "dead", "done")}
                for p in plugins}
            return self.render("abonent/outbox.html", tab=tab, tabs=list(TABS), plugin=plugin,
                               account=request.args.get("account", ""), rows=rows[:PAGE],
                               has_next=len(rows) > PAGE, page=page, summary=summary,
                               plugins=plugins)

    def _back(self):
        return redirect(request.form.get("next") or url_for(".index"))

    @expose("/retry/<int:delivery_id>", methods=("POST",))
    @needs("retry")
    def retry_one(self, delivery_id: int):
        with manager_session() as session:
            count = outbox.retry(session, [delivery_id])
            audit(session, "retry", "delivery", delivery_id, {"queued": count})
        flash(_("Delivery %(id)s is queued again.", id=delivery_id) if count
              else _("Delivery %(id)s was already delivered or does not exist.", id=delivery_id),
              "success" if count else "warning")
        return self._back()

    @expose("/retry-all", methods=("POST",))
    @needs("retry")
    def retry_all(self):
        which = request.form.get("which", "dead")
        plugin = request.form.get("plugin") or None
        state = "pending" if which == "failing" else "dead"
        with manager_session() as session:
            count = outbox.retry(session, None, plugin=plugin, state=state)
            audit(session, "retry", "delivery", None,
                  {"state": state, "plugin": plugin, "queued": count})
        flash(_("%(n)s deliveries queued again.", n=count), "success")
        return self._back()


class PluginsView(GuardedView):
    """What is installed: plugins, versions, hooks, enabled or not, configuration (secrets
    masked), and the pages each added to the admin."""

    area = "plugins"

    @expose("/")
    def index(self):
        rt = runtime()
        rows = describe(rt)
        views = current_app.extensions["abonent_admin"]["plugin_views"]
        for row in rows:
            row["views"] = views.get(row["name"], [])
        return self.render("abonent/plugins.html", rows=rows,
                           disabled=rt.settings.disabled_plugins)


class JobsView(GuardedView):
    """Scheduled jobs: when each runs, its last run's outcome (ok, partial in amber,
    failed in red), summary and result or error, how it was started (schedule, catch-up
    after a takeover, manual), and "run now" (the run goes on in the background and is
    recorded like a scheduled one)."""

    area = "jobs"

    @expose("/")
    def index(self):
        specs = job_specs(runtime())
        with manager_session() as session:
            runs = last_runs(session)
            running = MANUAL.running()
            return self.render("abonent/jobs.html", specs=specs, runs=runs, running=running,
                               summaries={job: summary_of(run) for job, run in runs.items()})

    @expose("/run/<job_id>", methods=("POST",))
    @needs("run")
    def run(self, job_id: str):
        rt = runtime()
        if job_id not in job_specs(rt):
            flash(_("There is no job %(id)s.", id=job_id), "error")
            return redirect(url_for(".index"))
        if not MANUAL.start(job_id):
            flash(_("%(id)s is already running.", id=job_id), "warning")
            return redirect(url_for(".index"))

        def work():
            try:
                run_job(rt, job_id, trigger="manual")
            except Exception:  # recorded by run_job; the thread must not die loudly
                log.exception("manual run of %s failed", job_id)
            finally:
                MANUAL.done(job_id)
        try:
            with manager_session() as session:
                audit(session, "run", "job", job_id, {"trigger": "manual"})
        except BaseException:
            MANUAL.done(job_id)
            raise
        threading.Thread(target=work, name=f"job-{job_id}", daemon=True).start()
        flash(_("%(id)s started; its result appears below when it ends.", id=job_id), "success")
        return redirect(url_for(".index"))
