"""HTTP for plugins that talk to a platform over HTTP.

Both read the environment once, when made: the proxy for the platform's URL
(`HTTPS_PROXY`, `NO_PROXY` …) and the CA bundle (`REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`,
else certifi's, as requests has it); TLS is always verified. A plain `requests` session
re-reads the whole environment and looks for `~/.netrc` on every request, which cost an
outbox worker more than a third of a millisecond per delivery; a platform is reached with
its own credentials, never a netrc's.

- `PlatformHTTP(url, connections)`: a pool of kept-alive connections (urllib3), for a
  plugin's hot calls. requests spends about as much CPU preparing and wrapping a call as
  urllib3 spends making it (~0.25 ms a call), which a worker delivering hundreds of calls
  a second pays in its one GIL. No retries and no redirects: a failed call is the
  caller's to classify (try again later, or refused).
- `platform_session(url, connections)`: a `requests.Session` with the same settings,
  for plugins written against requests.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

import certifi
import requests
import urllib3
from requests.adapters import HTTPAdapter


def _ca_bundle() -> str:
    return (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            or certifi.where())


def platform_session(url: str, connections: int = 1) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(url)
    session.verify = _ca_bundle()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, connections))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class PlatformUnreachable(Exception):
    """No answer came: the connection failed or broke, or the answer was cut off."""


class PlatformTimeout(PlatformUnreachable):
    """No answer within the timeout (connecting or reading)."""


@dataclass(frozen=True)
class Answer:
    """A platform's answer, read whole."""

    status_code: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The parsed body (a ValueError when it is not JSON)."""
        return json.loads(self.content)


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as an observer of a `PlatformHTTP` sees them."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    answer: Answer


class PlatformHTTP:
    """Kept-alive connections to one platform: `connections` of them (one per thread that
    shares it; a per-thread client needs 1). `observers` are called with every
    `Exchange` (the plugins' tests check the traffic against the platform's spec)."""

    def __init__(self, url: str, connections: int = 1):
        options: dict[str, Any] = {"maxsize": max(1, connections), "retries": False,
                                   "cert_reqs": "CERT_REQUIRED", "ca_certs": _ca_bundle()}
        proxy = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))
        self._pool = (urllib3.ProxyManager(proxy, **options) if proxy
                      else urllib3.PoolManager(**options))
        self.observers: list[Callable[[Exchange], None]] = []

    def request(self, method: str, url: str, *, timeout: float | tuple[float, float],
                params: Mapping[str, Any] | None = None, json_body: Any = None,
                headers: Mapping[str, str] | None = None) -> Answer:
        """Send one request (`params` as its query, `json_body` as a JSON body) and read
        the whole answer, within `timeout` seconds, or (connect, read); raises
        `PlatformTimeout` or `PlatformUnreachable`, whatever the status."""
        if params:
            url += "?" + urlencode(params, doseq=True)
        sent = dict(headers or {})
        body = None
        if json_body is not None:
            body = json.dumps(json_body, allow_nan=False).encode()
            sent["Content-Type"] = "application/json"
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        try:
            response = self._pool.urlopen(method, url, body=body, headers=sent,
                                          timeout=urllib3.Timeout(connect=connect, read=read),
                                          redirect=False)
        except urllib3.exceptions.NewConnectionError as exc:  # refused, unreachable host
            raise PlatformUnreachable(f"{type(exc).__name__}: {exc}") from None
        except urllib3.exceptions.TimeoutError as exc:
            raise PlatformTimeout(f"{type(exc).__name__}: {exc}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise PlatformUnreachable(f"{type(exc).__name__}: {exc}") from None
        answer = Answer(response.status, response.headers, response.data)
        for observe in self.observers:
            observe(Exchange(method, url, sent, body, answer))
        return answer

    def close(self) -> None:
        self._pool.clear()
