"""FSPIOP HTTP headers (API Definition v1.1, section 3.2): names, versioned media types, checks.

Every FSPIOP request carries ``Date`` (RFC 7231 IMF-fixdate) and ``FSPIOP-Source`` (the sending
FSP's id); ``FSPIOP-Destination`` names the receiving FSP where the sender knows it. A request
with a body says ``Content-Type: application/vnd.interoperability.<resource>+json;version=1.1``;
a request that expects a callback (``POST``, ``GET``) also says which versions it accepts in
``Accept`` (``...;version=1`` means any 1.x). An unsupported version is error 3001 with the
supported versions in the extension list (major as key, minor as value).

- :func:`content_type` builds a media type; :func:`parse_media_type` reads one.
- :func:`check_request` validates the headers of an incoming request and returns them parsed.
- :func:`outgoing_headers` builds the headers of a request the hub (or an FSP) sends.
- :func:`http_date` / :func:`parse_http_date` convert the ``Date`` header.

Pure: no web framework; headers are passed as a mapping with lower-case names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from baobab.switch.fspiop.errors import ErrorCode, FspiopError

ACCEPT = "accept"
CONTENT_TYPE = "content-type"
DATE = "date"
SOURCE = "fspiop-source"
DESTINATION = "fspiop-destination"
SIGNATURE = "fspiop-signature"
URI = "fspiop-uri"
HTTP_METHOD = "fspiop-http-method"
ENCRYPTION = "fspiop-encryption"

RESOURCES = frozenset(
    {
        "participants",
        "parties",
        "quotes",
        "transfers",
        "bulkQuotes",
        "bulkTransfers",
        "transactionRequests",
        "authorizations",
    }
)
VERSION = (1, 1)  # what the hub speaks and sends
SUPPORTED = ((1, 0), (1, 1))  # what it accepts
_FSP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_MEDIA = re.compile(
    r"\s*application/vnd\.interoperability\.(?P<resource>[A-Za-z]+)\+json\s*"
    r"(?:;\s*version\s*=\s*(?P<major>\d{1,3})(?:\.(?P<minor>\d{1,3}))?)?\s*"
)


def valid_fsp_id(value: object) -> bool:
    """True if ``value`` can be an FSP id (``FspId`` is String(1..32); Baobab keeps it to
    letters, digits, ``.``, ``_`` and ``-`` so it is safe in URLs and ledger account ids)."""
    return isinstance(value, str) and _FSP_ID.fullmatch(value) is not None


def content_type(resource: str, version: tuple[int, int] = VERSION) -> str:
    """``application/vnd.interoperability.<resource>+json;version=<major>.<minor>``."""
    if resource not in RESOURCES:
        raise ValueError(f"not an FSPIOP resource: {resource!r}")
    return f"application/vnd.interoperability.{resource}+json;version={version[0]}.{version[1]}"


@dataclass(frozen=True, slots=True)
class MediaType:
    """A parsed FSPIOP media type; ``minor`` is None when only the major version was given."""

    resource: str
    major: int | None
    minor: int | None

    def accepts(self, version: tuple[int, int]) -> bool:
        """True if this (Accept) media type admits ``version``."""
        if self.major is None:
            return True
        return self.major == version[0] and (self.minor is None or self.minor == version[1])


def parse_media_type(value: str) -> MediaType | None:
    """The FSPIOP media type in ``value``, or None if it is not one."""
    found = _MEDIA.fullmatch(value)
    if found is None:
        return None
    major, minor = found["major"], found["minor"]
    return MediaType(
        found["resource"], int(major) if major else None, int(minor) if minor else None
    )


def http_date(moment: datetime) -> str:
    """``moment`` as an RFC 7231 IMF-fixdate, e.g. ``Tue, 15 Nov 1994 08:12:31 GMT``."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def parse_http_date(value: str) -> datetime:
    """An RFC 7231 date as an aware UTC datetime; raises :class:`FspiopError` 3101 if malformed."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "Date is not an RFC 7231 date") from exc
    if parsed.tzinfo is None:
        raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "Date must be in GMT")
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RequestHeaders:
    """The FSPIOP headers of a request, validated."""

    source: str
    destination: str | None
    date: datetime
    version: tuple[int, int]
    signature: str | None


def _unsupported(what: str) -> FspiopError:
    supported = {str(major): str(minor) for major, minor in SUPPORTED}
    # Several minors of one major collapse to the newest: the extension list names each major once.
    return FspiopError(ErrorCode.UNACCEPTABLE_VERSION, what, extensions=supported)


def _accepted_version(resource: str, accept: str) -> tuple[int, int]:
    offered = [parse_media_type(part) for part in accept.split(",")]
    ours = [media for media in offered if media is not None and media.resource == resource]
    if not ours:
        raise FspiopError(
            ErrorCode.MALFORMED_SYNTAX,
            f"Accept must name application/vnd.interoperability.{resource}+json",
        )
    for version in sorted(SUPPORTED, reverse=True):
        if any(media.accepts(version) for media in ours):
            return version
    raise _unsupported("none of the versions in Accept is supported")


def _content_version(resource: str, value: str) -> tuple[int, int]:
    media = parse_media_type(value)
    if media is None or media.resource != resource:
        raise FspiopError(
            ErrorCode.MALFORMED_SYNTAX,
            f"Content-Type must be application/vnd.interoperability.{resource}+json;version=1.1",
        )
    if media.major is None or media.minor is None:
        raise FspiopError(
            ErrorCode.MALFORMED_SYNTAX, "Content-Type must give version=<major.minor>"
        )
    version = (media.major, media.minor)
    if version not in SUPPORTED:
        raise _unsupported(f"version {media.major}.{media.minor} is not supported")
    return version


def check_request(
    headers: Mapping[str, str],
    *,
    resource: str,
    has_body: bool,
    expects_callback: bool,
    destination_required: bool = False,
) -> RequestHeaders:
    """Validate the FSPIOP headers of a request; ``headers`` has lower-case names.

    ``has_body`` requires ``Content-Type``; ``expects_callback`` (POST, GET) requires
    ``Accept``. Raises :class:`FspiopError`: 3102 for a missing header, 3101 for a malformed
    one, 3001 for an unsupported version.
    """
    for name, needed in (
        (DATE, True),
        (SOURCE, True),
        (DESTINATION, destination_required),
        (CONTENT_TYPE, has_body),
        (ACCEPT, expects_callback),
    ):
        if needed and not headers.get(name):
            raise FspiopError(ErrorCode.MISSING_ELEMENT, f"the header {name} is missing")
    source = headers[SOURCE]
    if not valid_fsp_id(source):
        raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "FSPIOP-Source is not an FSP id")
    destination = headers.get(DESTINATION) or None
    if destination is not None and not valid_fsp_id(destination):
        raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "FSPIOP-Destination is not an FSP id")
    version = VERSION
    if expects_callback:
        version = _accepted_version(resource, headers[ACCEPT])
    if has_body:
        version = _content_version(resource, headers[CONTENT_TYPE])
    return RequestHeaders(
        source=source,
        destination=destination,
        date=parse_http_date(headers[DATE]),
        version=version,
        signature=headers.get(SIGNATURE) or None,
    )


def outgoing_headers(
    resource: str,
    *,
    source: str,
    destination: str | None,
    at: datetime,
    has_body: bool = True,
    expects_callback: bool = False,
) -> dict[str, str]:
    """The FSPIOP headers of a request to send (lower-case names, no signature yet)."""
    headers = {DATE: http_date(at), SOURCE: source}
    if destination is not None:
        headers[DESTINATION] = destination
    if has_body:
        headers[CONTENT_TYPE] = content_type(resource)
    if expects_callback:
        headers[ACCEPT] = content_type(resource)
    return headers
