"""Reading an XML-RPC answer that is a long array of structs (`billingEventsGet`) as a
stream, one struct at a time, in bounded memory.

A busy month is 200,000 events, about 180 MB of XML: `xmlrpc.client.loads` would hold the
whole body, its parse tree and every dict at once. Here lxml's pull parser is fed the
body chunk by chunk (from the socket, or the spool the import keeps it in) and each event
struct is handed over as soon as it is complete, then cut from the tree, so memory is
that of one struct and one chunk whatever the length of the answer.

The answer is checked as it goes: a fault (`methodResponse/fault`) raises `Fault` with
SGT's code and text as they came; a body that is not XML, ends early (a cut
connection, a truncated reply) or is not an array of structs of scalars raises
`MalformedReply`, so the caller, which writes inside one transaction, keeps nothing of it.
The error comes when the parser meets it, possibly after structs were already handed
over: a caller must not commit until the stream has ended.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from lxml import etree

#: the chain of ancestors of a top-level array's <data> element in a method response
_TOP = ("array", "value", "param", "params", "methodResponse")
_NESTED = {"struct", "array"}


class MalformedReply(Exception):
    """The body is not a complete XML-RPC answer of the expected shape."""


class Fault(Exception):
    """An XML-RPC fault answer: `code` and `message` as the platform sent them."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _scalar(value: etree._Element, where: str) -> str | None:
    """The text of a <value>: its typed child's text (<nil/>: None), or its own text (a
    bare value is a string)."""
    if len(value) == 0:
        return value.text or ""
    typed = value[0]
    if typed.tag in _NESTED:
        raise MalformedReply(f"{where} is a {typed.tag}, not a single value")
    if typed.tag == "nil":
        return None
    return typed.text or ""


def _members(struct: etree._Element, where: str) -> dict[str, str | None]:
    members: dict[str, str | None] = {}
    for member in struct:
        if member.tag != "member" or len(member) != 2 or member[0].tag != "name" \
                or member[1].tag != "value":
            raise MalformedReply(f"{where}: a member is not <name> then <value>")
        name = member[0].text or ""
        members[name] = _scalar(member[1], f"{where}.{name}")
    return members


def _drop_done(data: etree._Element, what: str) -> None:
    """Cut the first item of the array, which must be a struct already handed over (an
    item of any other kind is refused, never skipped)."""
    item = data[0]
    if item.tag != "value" or len(item) != 1 or item[0].tag != "struct":
        raise MalformedReply(f"{what}: an item of the array is not a struct")
    del data[0]


def _is_top(data: etree._Element) -> bool:
    node = data
    for tag in _TOP:
        node = node.getparent()
        if node is None or node.tag != tag:
            return False
    return node.getparent() is None


def iter_structs(chunks: Iterable[bytes], what: str = "answer"
                 ) -> Iterator[dict[str, str | None]]:
    """Yield each struct of the answer's array as {member name: text or None}, the body
    coming as byte chunks (e.g. `response.iter_content(65536)`).

    Raises `Fault` for a fault answer and `MalformedReply` for anything that is not a
    complete array of flat structs (see the module's docstring)."""
    state = _State(what)
    parser = etree.XMLPullParser(events=("end",), tag=("struct", "array", "fault"))
    try:
        for chunk in chunks:
            parser.feed(chunk)
            yield from state.take(parser.read_events())
        parser.close()
        yield from state.take(parser.read_events())
    except etree.XMLSyntaxError as exc:
        raise MalformedReply(f"{what} is not complete XML: {exc}") from None
    state.finish()


class _State:
    """What the parse has met so far: the top-level array, a fault."""

    def __init__(self, what: str):
        self.what = what
        self.top_data: etree._Element | None = None
        self.seen_array = False
        self.fault: dict[str, str | None] | None = None
        self.count = 0

    def take(self, events) -> Iterator[dict[str, str | None]]:
        for _, element in events:
            if element.tag == "struct":
                yield from self._struct(element)
            elif element.tag == "array":
                self._array(element)

    def _struct(self, element: etree._Element) -> Iterator[dict[str, str | None]]:
        value = element.getparent()
        holder = value.getparent() if value is not None else None
        if holder is None:
            return
        if holder.tag == "fault":
            self.fault = _members(element, "fault")
            return
        if holder.tag != "data":
            return  # a struct nested in a member: that member is refused as not a value
        if holder is not self.top_data:
            if self.top_data is not None or not _is_top(holder):
                return
            self.top_data = holder
        self.count += 1
        yield _members(element, f"{self.what}[{self.count}]")
        element.clear()
        while value.getprevious() is not None:
            _drop_done(holder, self.what)

    def _array(self, element: etree._Element) -> None:
        data = element[0] if len(element) else None
        if data is not None and _is_top(data):
            self.seen_array = True
            while len(data):
                _drop_done(data, self.what)

    def finish(self) -> None:
        if self.fault is not None:
            code = self.fault.get("faultCode") or "0"
            raise Fault(int(code) if code.lstrip("-").isdigit() else 0,
                        self.fault.get("faultString") or "")
        if not self.seen_array:
            raise MalformedReply(f"{self.what} is not an array "
                                 f"(methodResponse/params/param/value/array)")
