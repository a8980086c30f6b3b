"""JSON text of records: canonical serialisation (what is stored and hashed) and parsing.

Canonical JSON is the kernel's (:func:`baobab.kernel.hashchain.canonical_json`): sorted keys, no
spaces, UTF-8, floats as Python writes them. orjson writes the same bytes for almost every JSON
value about three times faster than the standard library; the few values it writes differently
are told by a plain substring of its output, and for those (and anything it refuses) the
standard library's encoder writes the text instead:

- a float below 1e-4 in magnitude (Python ``1e-05``, orjson ``0.00001``; ``1e-07`` and ``1e-7``):
  the output holds ``0.0000``, or a digit, ``e-`` and a single digit;
- NaN or an infinity (Python ``NaN``, orjson ``null``): the output holds ``null``;
- an integer beyond 64 bits, a lone surrogate, a key that is not a string, a subclass of a JSON
  type, nesting deeper than 254: orjson refuses.

A string that merely contains one of those substrings takes the slow path too, with the same
result. Parsing with orjson gives the standard library's values for every document both accept,
except integers beyond 64 bits, which orjson reads as floats; such a float is written with a
digit and ``e+``, so a document whose canonical text holds that is read again by the standard
library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

import orjson


def _unencodable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder json.dumps uses, with json.dumps's options for canonical text, built once:
# JSONEncoder.encode builds a new one for every call, and tracks every container it enters
# against cycles (which parsed JSON cannot have; a cycle still fails, as a RecursionError).
_C_ENCODER = c_make_encoder(
    None, _unencodable, encode_basestring, None, ":", ",", True, False, True
)
# a JSON string: what json.dumps(text, ensure_ascii=False) writes, without building an encoder
quoted: Callable[[str], str] = encode_basestring

# sorted keys; dataclasses, dates and subclasses of JSON types are refused (the standard
# library refuses or writes them its own way), so they take the standard library's path
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_DUMPS = orjson.dumps
_DECODE = json.JSONDecoder().decode  # json.loads without its per-call argument checks
_SHORT_EXPONENT = re.compile(rb"[0-9]e-[0-9](?![0-9])")  # orjson 1e-7, Python 1e-07
_BIG_FLOAT = re.compile(rb"[0-9]e\+")  # 1e+19: perhaps an integer orjson read as a float


def _standard(data: Any) -> bytes:
    return "".join(_C_ENCODER(data, 0)).encode()


def canonical_bytes(data: Any) -> bytes:
    """Canonical JSON of ``data`` as UTF-8 bytes: exactly the kernel's ``canonical_json``."""
    return _canonical(data, finite=False)


def _canonical(data: Any, *, finite: bool) -> bytes:
    """``finite``: ``data`` holds no NaN or infinity (orjson parsed it), so ``null`` in the
    text is a null."""
    try:
        text = _DUMPS(data, option=_ORJSON_OPTIONS)
    except TypeError:
        return _standard(data)
    if (
        (not finite and b"null" in text)
        or b"0.0000" in text
        or (b"e-" in text and _SHORT_EXPONENT.search(text) is not None)
    ):
        return _standard(data)
    return text


def canonical(data: Mapping[str, Any]) -> str:
    """Canonical JSON text of a record (sorted keys, no spaces), as stored and as hashed;
    the same text as :func:`baobab.kernel.hashchain.canonical_json`."""
    return canonical_bytes(data).decode()


def parse_canonical(text: str) -> tuple[Any, bytes]:
    """The value of a JSON document and its canonical JSON, as :func:`json.loads` and
    :func:`canonical_bytes` give them; :class:`json.JSONDecodeError` for a bad document (the
    standard library's, with its message), :class:`UnicodeEncodeError` for one holding a lone
    surrogate (``"\\ud800"``), which UTF-8 cannot."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = _DECODE(text)  # NaN, 1e400, lone surrogates: accepted by the standard library
        return data, canonical_bytes(data)
    encoded = _canonical(data, finite=True)
    if b"e+" in encoded and _BIG_FLOAT.search(encoded) is not None:
        data = _DECODE(text)
        encoded = canonical_bytes(data)
    return data, encoded
