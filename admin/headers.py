"""The browser-facing hardening every answer gets: security headers, the session cookie's
flags, and trust in a reverse proxy's forwarded headers when the operator says so.

The Content-Security-Policy allows scripts, styles, images and fonts from this site only
and no inline code (but one harmless handler of Flask-Admin's, allowed by its hash): the
admin's pages keep their JavaScript in admin/static/, so an injected <script> or onclick=
never runs even if some escaping were ever missed.
"""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

#: the one inline handler allowed, by its hash: Flask-Admin's list filter links carry
#: onclick="return false;" (it runs no code of anyone's choosing)
ALLOWED_HANDLERS = ("return false;",)


def _hash(source: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()


CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    " ".join(("script-src 'self' 'unsafe-hashes'", *map(_hash, ALLOWED_HANDLERS))),
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

#: a <style> block of a standalone document (its text is what a hash-source covers)
STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.S)


def document_policy(html: str) -> str:
    """The policy of a standalone document served as it is also saved to a file (a
    printable invoice: core.documents keeps its styles inline): its own <style> blocks,
    allowed by their hashes, and nothing else at all (no script, no other style)."""
    styles = " ".join(_hash(block) for block in STYLE_BLOCK.findall(html)) or "'none'"
    return "; ".join(("default-src 'none'", f"style-src {styles}", "img-src 'self' data:",
                      "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"))


HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # frame-ancestors for today's browsers, X-Frame-Options for older ones (clickjacking)
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # other sites never see the admin's URLs (they carry searched phones and names)
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_headers(app: Flask, server: dict) -> None:
    """Apply the [server] section's cookie and proxy settings and add HEADERS to every
    answer (a header a view or plugin set itself is kept)."""
    secure = server["secure_cookies"]
    app.config.update(SESSION_COOKIE_SECURE=secure, REMEMBER_COOKIE_SECURE=secure,
                      REMEMBER_COOKIE_HTTPONLY=True)
    proxies = server["trusted_proxies"]
    if proxies:
        # the client's address (login throttling, the audit log) and https:// in links
        # come from the proxy's X-Forwarded-* headers, believed only from that many hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies, x_port=proxies)

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
