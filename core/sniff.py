"""What a file's bytes are, whatever its name or the browser claimed.

An upload's declared type is the sender's word; a file accepted as "image/png" that is
really HTML is a stored script once it is served. So the type of an attached file is
read from its first bytes (the signatures of the few types a HelpDesk takes), and text
is text only if it decodes as UTF-8 without control characters.
"""
from __future__ import annotations

#: (leading bytes, type)
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
)
#: the control characters a plain text may hold (tab, line feed, carriage return, form feed)
TEXT_CONTROLS = {9, 10, 12, 13}
#: markup a browser would render (text that starts so is not plain text)
MARKUP = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml")


def sniff(data: bytes) -> str:
    """The type of `data`: one of SIGNATURES', "text/plain", "text/html" or
    "application/octet-stream" (anything else)."""
    for signature, kind in SIGNATURES:
        if data.startswith(signature):
            return kind
    head = data[:512].lstrip().lower()
    if head.startswith(MARKUP):
        return "text/html"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    if any(ord(c) < 32 and ord(c) not in TEXT_CONTROLS for c in text):
        return "application/octet-stream"
    return "text/plain"
