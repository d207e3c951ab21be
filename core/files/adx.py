"""Reading ADX (IHE Aggregate Data Exchange, `urn:ihe:qrph:adx:2015`) one dataValue at a time.

`<adx><group orgUnit="…" period="2024-01-01/P1M" dataSet="…"><dataValue dataElement="…"
value="…" sex="male" parity="2"/></group></adx>`: each dataValue is a row of its group's
unit and period; its attributes other than dataElement and value are its category
options. A group's attributes other than orgUnit, period, dataSet, completeDate and id name
an attribute option combo, which Quhua does not store.

Hostile documents are refused before the parser sees them: a document type declaration
(the only place entities are declared; an entity in an attribute is expanded even when
entities are not resolved, which is how a billion laughs fills memory) ends the read with
nothing expanded. The parser itself loads no DTD, resolves no entity and reaches no network;
each dataValue is dropped once read, so memory follows one group, never the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from lxml import etree

from core.files.value_records import ValueRecord, ValuesFileError

NAMESPACE = "urn:ihe:qrph:adx:2015"
_ADX = f"{{{NAMESPACE}}}adx"
_GROUP = f"{{{NAMESPACE}}}group"
_DATA_VALUE = f"{{{NAMESPACE}}}dataValue"
_ANNOTATION = f"{{{NAMESPACE}}}annotation"
# Attributes of a group that say nothing about what is stored.
GROUP_ATTRIBUTES = frozenset({"orgUnit", "period", "dataSet", "completeDate", "id"})
# What may come before the root element: an XML declaration, comments, processing
# instructions, whitespace; a document type declaration is refused.
MAX_PROLOG_BYTES = 1 << 16
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)


class _Replayed:
    """A binary stream whose first bytes were read already, read again from the start."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._rest.read(size)


def _without_doctype(stream: IO[bytes]) -> _Replayed:
    """The stream, once its prolog is known to declare no document type."""
    head = b""
    while True:
        at = 3 if head.startswith(b"\xef\xbb\xbf") else 0
        while (match := _PROLOG_ITEM.match(head, at)) and match.end() > at:
            at = match.end()
        rest = head[at:]
        if rest[:9].upper() == b"<!DOCTYPE":
            raise ValuesFileError(
                "the document declares a document type (<!DOCTYPE …>): ADX documents "
                "have none, and entities are refused"
            )
        if len(rest) >= 9 and not rest.startswith((b"<?", b"<!--")):
            if not rest.startswith(b"<"):
                # UTF-16 and the like would hide a declaration from the look above.
                raise ValuesFileError("not an XML document in UTF-8")
            return _Replayed(head, stream)
        if len(head) > MAX_PROLOG_BYTES:
            raise ValuesFileError(f"the document's prolog is longer than {MAX_PROLOG_BYTES} bytes")
        chunk = stream.read(4096)
        if not chunk:
            if not head.strip():
                raise ValuesFileError("the file is empty: expected an ADX document")
            return _Replayed(head, stream)
        head += chunk


def read_adx(stream: IO[bytes]) -> Iterator[ValueRecord]:
    """Each dataValue of the document in order, numbered by its line; ValuesFileError if
    the document is not well-formed ADX or is hostile."""
    events = etree.iterparse(
        _without_doctype(stream),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    depth = 0
    # The current group's unit and period; or why its dataValues are refused.
    group: tuple[str, str] | _Refused = _Refused("it lies outside any <group>")
    try:
        for event, element in events:
            if event == "end":
                depth -= 1
                if depth <= 2:
                    _drop(element)
                continue
            depth += 1
            line = element.sourceline or 0
            try:
                if depth == 1:
                    _check_root(element, line)
                elif depth == 2:
                    # Until it is known to be one, the element is no group.
                    group = _Refused("it lies outside any <group>")
                    group = _group(element, line)
                elif depth == 3:
                    yield ValueRecord(line, _data_value(element, group))
                elif depth == 4 and element.tag != _ANNOTATION:
                    raise _Refused(f"{_named(element.tag)} inside a <dataValue>")
            except _Refused as refused:
                yield ValueRecord(line, None, str(refused))
    except etree.XMLSyntaxError as error:
        raise ValuesFileError(_syntax(error)) from None
    if depth != 0:
        raise ValuesFileError("the document ends before its root element does")


def _syntax(error: etree.XMLSyntaxError) -> str:
    """Where the document stops being XML, and why: the parser's own first complaint
    (the error itself may only say that the parse ended)."""
    # The stubs type the log as opaque; it is a list of entries with line, column, message.
    entries: list[Any] = list(error.error_log)  # type: ignore[call-overload]
    if entries:
        entry = entries[0]
        return f"line {entry.line} column {entry.column}: {entry.message.strip()}"
    return f"line {error.lineno}: {error.msg}"


class _Refused(Exception):
    """Why a dataValue (or every dataValue of a group) cannot be read."""


def _drop(element: etree._Element) -> None:
    """Forget a read element, and what came before it, in the tree being built."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _check_root(element: etree._Element, line: int) -> None:
    if element.tag != _ADX:
        raise ValuesFileError(
            f'line {line}: the root element is {_named(element.tag)}, not <adx xmlns="{NAMESPACE}">'
        )
    if element.getroottree().docinfo.doctype:  # type: ignore[attr-defined]
        raise ValuesFileError(f"line {line}: the document declares a document type")


def _named(tag: object) -> str:
    text = str(tag)
    if text.startswith(f"{{{NAMESPACE}}}"):
        return f"<{text.removeprefix(f'{{{NAMESPACE}}}')}>"
    return f"<{text}> (outside the ADX namespace)" if text.startswith("{") else f"<{text}>"


def _group(element: etree._Element, line: int) -> tuple[str, str] | _Refused:
    """The group's unit and period, or why its dataValues are refused; _Refused raised
    for an element that is no group (reported at its own line)."""
    if element.tag != _GROUP:
        raise _Refused(f"{_named(element.tag)} where a <group> belongs")
    attributes = element.attrib
    unit = (attributes.get("orgUnit") or "").strip()
    period = (attributes.get("period") or "").strip()
    if not unit:
        return _Refused(f"its group (line {line}) has no orgUnit")
    if not period:
        return _Refused(f"its group (line {line}) has no period")
    others = sorted(str(name) for name in attributes if name not in GROUP_ATTRIBUTES)
    if others:
        return _Refused(
            f"its group (line {line}) has {', '.join(others)}: only the default "
            "attribute option combo is stored (Quhua has no attribute categories)"
        )
    return unit, period


def _data_value(
    element: etree._Element, group: tuple[str, str] | _Refused
) -> tuple[str, str, str, str, str]:
    if element.tag != _DATA_VALUE:
        raise _Refused(f"{_named(element.tag)} where a <dataValue> belongs")
    if isinstance(group, _Refused):
        # A new one each time: raising one object again would lengthen its traceback.
        raise _Refused(str(group))
    unit, period = group
    attributes = element.attrib
    data_element = (attributes.get("dataElement") or "").strip()
    if not data_element:
        raise _Refused("no dataElement")
    value = attributes.get("value")
    if value is None:
        raise _Refused("no value")
    options = []
    for key, written in attributes.items():
        name, option = str(key), str(written).strip()
        if name in ("dataElement", "value"):
            continue
        if name.startswith("{"):
            raise _Refused(f"attribute {name}: categories have no namespace")
        if ";" in option or "=" in option:
            raise _Refused(f"{name}={option!r} is not an option code")
        options.append(f"{name}={option}")
    return unit, data_element, period, str(value).strip(), ";".join(options)
