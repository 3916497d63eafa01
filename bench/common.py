"""What every benchmark needs: a fresh migrated PostgreSQL database, a clock, the peak
memory of a run (measured in a child process, so one run's peak is not another's), and
the printed figure with its limit and ratio."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from sqlalchemy import Engine

from core import migrate
from core.config import validate_settings
from core.db import make_engine
from core.runtime import Runtime

PG_ENV = "ABONENT_TEST_POSTGRES_URL"


def postgres_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        sys.exit(f"benchmarks run on PostgreSQL: run `make bench` (it starts a cluster) "
                 f"or set {PG_ENV}")
    return url


def fresh_database(prefix: str) -> str:
    """A new, migrated database in the benchmark cluster; returns its URL."""
    from plugins.testing import create_postgres_database
    url = create_postgres_database(postgres_base_url(), f"bench_{prefix}")
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def runtime_for(url: str, plugins=(), **sections: Any) -> Runtime:
    from plugins.host import build_runtime
    settings = validate_settings({"database_url": url, **sections}, "bench")
    return build_runtime(settings, extra_plugins=plugins, load_entrypoints=False)


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """`with timed() as t: …` then t["seconds"]."""
    result: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield result
    finally:
        result["seconds"] = time.perf_counter() - start


def in_child(target: str, **kwargs: Any) -> dict[str, Any]:
    """Run `module:function(**kwargs)` in a fresh Python process; returns its JSON-able
    result plus "peak_mb", the child's peak resident memory."""
    module, function = target.split(":")
    # the child measures itself: RUSAGE_CHILDREN would give the largest child so far
    code = (f"import json, resource, sys\nfrom {module} import {function}\n"
            f"result = {function}(**json.loads(sys.argv[1]))\n"
            f"result['peak_mb'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss"
            f" / 1024, 1)\n"
            f"print('\\nRESULT ' + json.dumps(result))")
    completed = subprocess.run([sys.executable, "-c", code, json.dumps(kwargs)],
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{target} failed:\n{completed.stderr[-3000:]}")
    line = [l for l in completed.stdout.splitlines() if l.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT "):])
    return result


@dataclass
class Figure:
    """One measured figure: `value` of what we do next to `limit` (the raw database doing
    the same rows) and their ratio; `goal` says what the issue asks for."""

    name: str
    value: float
    unit: str
    goal: str
    limit: float | None = None
    limit_name: str = ""
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if not self.limit:
            return None
        return self.value / self.limit if self.higher_is_better else self.limit / self.value

    def line(self) -> str:
        text = f"{self.name}: {self.value:,.2f} {self.unit}"
        if self.limit is not None:
            text += f"  | raw {self.limit_name}: {self.limit:,.2f} {self.unit}  | ratio {self.ratio:.2f}"
        return text + f"  | goal: {self.goal}"


def dispose(engine: Engine) -> None:
    engine.dispose()
