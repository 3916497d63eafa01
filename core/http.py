"""HTTP sessions for plugins that talk to a platform over HTTP (with `requests`).

`platform_session(url, connections)` is a `requests.Session` that keeps connections alive,
with a pool of `connections` (one per thread that shares it; a per-thread client needs 1),
and reads the environment once, when it is made: the proxies for `url` (`HTTPS_PROXY`,
`NO_PROXY` …) and the CA bundle (`REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`). A plain
session re-reads the whole environment and looks for `~/.netrc` on every request, which
cost an outbox worker more than a third of a millisecond per delivery; a platform is
reached with its own credentials, never a netrc's.
"""
from __future__ import annotations

import os

import requests
from requests.adapters import HTTPAdapter


def platform_session(url: str, connections: int = 1) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(url)
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, connections))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
