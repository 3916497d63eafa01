"""A login flood against a real `abonent serve` on the embedded SQLite file: 200 wrong
passwords, 32 at a time, from one address. No request answers 500, /healthz stays 200
throughout, the flooded address is held back (429) rather than served by sleeping
threads, another login from another address gets in at once, and the right password
works from the flooded address once the lockout is over. Loopback only, bounded."""
from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

from fleet import Process, free_port, wait_for
from support import ABONENT

PASSWORD = "correct horse 42"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LOCKOUT = 10  # seconds: long enough that a loaded machine still finds it in force


class _From(HTTPAdapter):
    """Connections from a chosen loopback address (127.0.0.2 is another client)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _client(address: str = "127.0.0.1") -> requests.Session:
    client = requests.Session()
    client.mount("http://", _From(address))
    return client


def _login(base: str, login: str, password: str, address: str = "127.0.0.1") -> int:
    client = _client(address)
    page = client.get(f"{base}/login", timeout=60)
    if page.status_code != 200:
        return page.status_code
    token = TOKEN.search(page.text)[1]
    answer = client.post(f"{base}/login", timeout=60, allow_redirects=False,
                         data={"login": login, "password": password, "csrf_token": token})
    return answer.status_code


def test_a_login_flood_on_sqlite_answers_no_500(tmp_path):
    config = tmp_path / "abonent.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "abonent.db"}"\n'
                      f'var_dir = "{tmp_path / "var"}"\n'
                      "[scheduler]\nenabled = false\n"
                      f"[security]\nlockout_seconds = {LOCKOUT}\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("ABONENT_DATABASE_URL", "ABONENT_VAR_DIR")}
    env["ABONENT_CONFIG"] = str(config)
    for args in (["db", "upgrade"], ["manager", "create", "--admin", "--password-stdin"],
                 ["manager", "create", "cashier", "--role", "cashier", "--password-stdin"]):
        subprocess.run([str(ABONENT), *args], env=env, input=PASSWORD, text=True, check=True,
                       capture_output=True, timeout=120)
    port = free_port()
    server = Process([str(ABONENT), "serve", "--port", str(port), "--no-worker"], env,
                     tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthz(base) == 200, 60, "the server", [server])
        health: list[int] = []
        done = threading.Event()

        def watch():
            while not done.is_set():
                health.append(_healthz(base))
                done.wait(0.2)
        watcher = threading.Thread(target=watch)
        watcher.start()
        started = time.monotonic()
        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(lambda n: _login(base, "admin", f"wrong {n}"), range(200)))
        done.set()
        watcher.join()
        took = time.monotonic() - started
        assert 500 not in answers, server.log_text()[-3000:]
        assert set(answers) <= {401, 429}, sorted(set(answers))
        assert answers.count(429) > 100  # held back at once, not by sleeping threads
        assert health and set(health) == {200}, health
        assert took < 120
        # the flooded login, from the flooded address: held back, then in once it is over
        assert _login(base, "admin", PASSWORD) == 429
        # another manager from another address is not held back meanwhile
        assert _login(base, "cashier", PASSWORD, address="127.0.0.2") == 302
        wait_for(lambda: _login(base, "admin", PASSWORD) == 302, 3 * LOCKOUT + 10,
                 "the lockout to end", [server])
        assert "Traceback" not in server.log_text()
    finally:
        server.end()


def _healthz(base: str) -> int:
    try:
        return requests.get(f"{base}/healthz", timeout=10).status_code
    except requests.RequestException:
        return 0
