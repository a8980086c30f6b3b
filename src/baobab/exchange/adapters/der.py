"""The small part of ASN.1 DER (ITU-T X.690) that RFC 3161 time-stamping needs: writing a
request and reading a response. No ASN.1 library is a dependency of Baobab, and this needs only
definite-length tag-length-value with single-byte tags.

Reading is strict: a length must be definite and minimal, and a value must fill its parent
exactly; anything else is :class:`DerError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from baobab.kernel.errors import InvalidInput

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
BOOLEAN = 0x01
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
GENERALIZED_TIME = 0x18


class DerError(InvalidInput):
    code = "exchange.invalid_der"
    title = "Malformed DER"


# --- writing --------------------------------------------------------------------------------


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def sequence(*items: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(items))


def set_of(*items: bytes) -> bytes:
    """A DER SET OF: elements in ascending order of their encodings."""
    return tlv(SET, b"".join(sorted(items)))


def integer(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)  # room for the sign bit
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def boolean(value: bool) -> bytes:
    return tlv(BOOLEAN, b"\xff" if value else b"\x00")


def octet_string(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def null() -> bytes:
    return tlv(NULL, b"")


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return tlv(OID, bytes(body))


def generalized_time(at: datetime) -> bytes:
    return tlv(GENERALIZED_TIME, at.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def explicit(number: int, inner: bytes) -> bytes:
    """A context-specific constructed tag ``[number]`` around ``inner``."""
    return tlv(0xA0 | number, inner)


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    """One element read: its tag, its content bytes and its whole encoding."""

    tag: int
    content: bytes
    encoded: bytes

    def children(self) -> list[Node]:
        """The elements of a constructed value, in order."""
        if not self.tag & 0x20:
            raise DerError(f"element with tag {self.tag:#x} is not constructed")
        found: list[Node] = []
        offset = 0
        while offset < len(self.content):
            node, offset = _read_at(self.content, offset)
            found.append(node)
        return found

    def expect(self, tag: int) -> Node:
        if self.tag != tag:
            raise DerError(f"expected tag {tag:#x}, found {self.tag:#x}")
        return self

    def as_int(self) -> int:
        self.expect(INTEGER)
        if not self.content:
            raise DerError("empty INTEGER")
        return int.from_bytes(self.content, "big", signed=True)

    def as_oid(self) -> str:
        self.expect(OID)
        if not self.content:
            raise DerError("empty OBJECT IDENTIFIER")
        arcs: list[int] = []
        value = 0
        for byte in self.content:
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                arcs.append(value)
                value = 0
        first = min(arcs[0] // 40, 2)
        return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))

    def as_time(self) -> datetime:
        """A GeneralizedTime in UTC (``YYYYMMDDHHMMSS[.f]Z``)."""
        text = self.expect(GENERALIZED_TIME).content.decode("ascii", "replace")
        if not text.endswith("Z"):
            raise DerError("a GeneralizedTime must be UTC (end in Z)")
        whole, _, fraction = text[:-1].partition(".")
        try:
            at = datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError as exc:
            raise DerError(f"bad GeneralizedTime {text!r}") from exc
        if fraction:
            if not fraction.isdigit():
                raise DerError(f"bad GeneralizedTime {text!r}")
            at = at.replace(microsecond=int(fraction[:6].ljust(6, "0")))
        return at


def read(data: bytes) -> Node:
    """The one element ``data`` holds; trailing bytes are an error."""
    node, end = _read_at(data, 0)
    if end != len(data):
        raise DerError("bytes after the end of the element")
    return node


def _read_at(data: bytes, offset: int) -> tuple[Node, int]:
    if offset + 2 > len(data):
        raise DerError("truncated element")
    tag, first = data[offset], data[offset + 1]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not used here")
    start = offset + 2
    if first < 0x80:
        size = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise DerError("indefinite or oversized length")
        size = int.from_bytes(data[start : start + count], "big")
        if size < 0x80 or data[start] == 0:
            raise DerError("length not in its shortest form")
        start += count
    end = start + size
    if end > len(data):
        raise DerError("truncated element")
    return Node(tag, data[start:end], data[offset:end]), end
