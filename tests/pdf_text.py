"""The text of a PDF that WeasyPrint wrote, read back from its bytes (no PDF library is
installed with WeasyPrint): each font's ToUnicode map turns the glyph ids that the
pages' `TJ` operators draw back into characters. Enough for a test to find "18.00" in a
PDF; not a general PDF reader."""
from __future__ import annotations

import re
import zlib

OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes]]:
    """object number -> (its dictionary, its stream decompressed or b"")."""
    found = {}
    for number, body in OBJECT.findall(pdf):
        stream = STREAM.search(body)
        data = b""
        if stream:
            data = stream.group(1)
            if b"/FlateDecode" in body[:stream.start()]:
                data = zlib.decompress(data)
        head = body[:stream.start()] if stream else body
        found[int(number)] = (head, data)
        if b"/Type /ObjStm" in head:  # objects packed in a stream: "number offset …" first
            first = int(re.search(rb"/First (\d+)", head).group(1))
            pairs = list(map(int, data[:first].split()))
            starts = pairs[1::2] + [len(data) - first]
            for i, packed in enumerate(pairs[::2]):
                found[packed] = (data[first + starts[i]:first + starts[i + 1]], b"")
    return found


def _cmap(data: bytes) -> dict[str, str]:
    glyphs = dict(re.findall(rb"<([0-9a-fA-F]+)> <([0-9a-fA-F]+)>", data))
    return {g.decode().lower(): bytes.fromhex(u.decode()).decode("utf-16-be")
            for g, u in glyphs.items()}


def pdf_text(pdf: bytes) -> str:
    """Every run of text of every page, one per line, in drawing order."""
    assert pdf.startswith(b"%PDF-"), "not a PDF"
    objects = _objects(pdf)
    maps = {number: _cmap(objects[int(ref)][1]) for number, (head, _) in objects.items()
            for ref in re.findall(rb"/ToUnicode (\d+) 0 R", head)}
    fonts = {name.decode(): maps.get(int(ref), {}) for head, _ in objects.values()
             for name, ref in re.findall(rb"/(\w+) (\d+) 0 R", head)
             if int(ref) in maps}
    lines = []
    for _head, data in objects.values():
        font: dict[str, str] = {}
        for name, run in re.findall(rb"/(\w+) [\d.]+ Tf|\[(.*?)\] TJ", data, re.S):
            if name:
                font = fonts.get(name.decode(), {})
                continue
            glyphs = b"".join(re.findall(rb"<([0-9a-fA-F]+)>", run)).decode().lower()
            lines.append("".join(font.get(glyphs[i:i + 4], "?")
                                 for i in range(0, len(glyphs), 4)))
    return "\n".join(lines)
