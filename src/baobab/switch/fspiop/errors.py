"""FSPIOP error codes and the FSPIOP error body (API Definition v1.1, section 7.6).

Every error the switch reports to an FSP, synchronously or by an ``.../error`` callback, is one
of these four-digit codes with its standard description, in the body shape
``{"errorInformation": {"errorCode", "errorDescription", "extensionList"?}}``. The HTTP status
goes with the code's category when the error answers a request synchronously.

Use :func:`error_body` to build a body and :class:`FspiopError` to raise one from a use case::

    raise FspiopError(ErrorCode.MODIFIED_REQUEST, "transfer id reused with another body")
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from baobab.kernel.errors import BaobabError

MAX_DESCRIPTION = 128  # ErrorDescription is String(1..128)
MAX_EXTENSIONS = 16  # ExtensionList holds 1..16 extensions


class ErrorCode(Enum):
    """The FSPIOP error codes Baobab's switch sends, each with its standard description."""

    COMMUNICATION_ERROR = ("1000", "Communication error")
    DESTINATION_COMMUNICATION_ERROR = ("1001", "Destination communication error")
    GENERIC_SERVER_ERROR = ("2000", "Generic server error")
    INTERNAL_SERVER_ERROR = ("2001", "Internal server error")
    NOT_IMPLEMENTED = ("2002", "Not implemented")
    SERVICE_UNAVAILABLE = ("2003", "Service currently unavailable")
    SERVER_TIMED_OUT = ("2004", "Server timed out")
    SERVER_BUSY = ("2005", "Server busy")
    GENERIC_CLIENT_ERROR = ("3000", "Generic client error")
    UNACCEPTABLE_VERSION = ("3001", "Unacceptable version requested")
    UNKNOWN_URI = ("3002", "Unknown URI")
    ADD_PARTY_INFORMATION_ERROR = ("3003", "Add Party information error")
    VALIDATION_ERROR = ("3100", "Generic validation error")
    MALFORMED_SYNTAX = ("3101", "Malformed syntax")
    MISSING_ELEMENT = ("3102", "Missing mandatory element")
    TOO_MANY_ELEMENTS = ("3103", "Too many elements")
    TOO_LARGE_PAYLOAD = ("3104", "Too large payload")
    INVALID_SIGNATURE = ("3105", "Invalid signature")
    MODIFIED_REQUEST = ("3106", "Modified request")
    MISSING_EXTENSION = ("3107", "Missing mandatory extension parameter")
    ID_NOT_FOUND = ("3200", "Generic ID not found")
    DESTINATION_FSP_ERROR = ("3201", "Destination FSP Error")
    PAYER_FSP_NOT_FOUND = ("3202", "Payer FSP ID not found")
    PAYEE_FSP_NOT_FOUND = ("3203", "Payee FSP ID not found")
    PARTY_NOT_FOUND = ("3204", "Party not found")
    QUOTE_NOT_FOUND = ("3205", "Quote ID not found")
    TRANSACTION_REQUEST_NOT_FOUND = ("3206", "Transaction request ID not found")
    TRANSACTION_NOT_FOUND = ("3207", "Transaction ID not found")
    TRANSFER_NOT_FOUND = ("3208", "Transfer ID not found")
    BULK_QUOTE_NOT_FOUND = ("3209", "Bulk quote ID not found")
    BULK_TRANSFER_NOT_FOUND = ("3210", "Bulk transfer ID not found")
    EXPIRED = ("3300", "Generic expired error")
    TRANSACTION_REQUEST_EXPIRED = ("3301", "Transaction request expired")
    QUOTE_EXPIRED = ("3302", "Quote expired")
    TRANSFER_EXPIRED = ("3303", "Transfer expired")
    PAYER_ERROR = ("4000", "Generic Payer error")
    PAYER_INSUFFICIENT_LIQUIDITY = ("4001", "Payer FSP insufficient liquidity")
    PAYER_REJECTION = ("4100", "Generic Payer rejection")
    PAYER_REJECTED_TRANSACTION_REQUEST = ("4101", "Payer rejected transaction request")
    PAYER_UNSUPPORTED_TRANSACTION_TYPE = ("4102", "Payer FSP unsupported transaction type")
    PAYER_UNSUPPORTED_CURRENCY = ("4103", "Payer unsupported currency")
    PAYER_LIMIT_ERROR = ("4200", "Payer limit error")
    PAYER_PERMISSION_ERROR = ("4300", "Payer permission error")
    PAYER_BLOCKED = ("4400", "Generic Payer blocked error")
    PAYEE_ERROR = ("5000", "Generic Payee error")
    PAYEE_INSUFFICIENT_LIQUIDITY = ("5001", "Payee FSP insufficient liquidity")
    PAYEE_REJECTION = ("5100", "Generic Payee rejection")
    PAYEE_REJECTED_QUOTE = ("5101", "Payee rejected quote")
    PAYEE_UNSUPPORTED_TRANSACTION_TYPE = ("5102", "Payee FSP unsupported transaction type")
    PAYEE_FSP_REJECTED_QUOTE = ("5103", "Payee FSP rejected quote")
    PAYEE_REJECTED_TRANSACTION = ("5104", "Payee rejected transaction")
    PAYEE_FSP_REJECTED_TRANSACTION = ("5105", "Payee FSP rejected transaction")
    PAYEE_UNSUPPORTED_CURRENCY = ("5106", "Payee unsupported currency")
    PAYEE_LIMIT_ERROR = ("5200", "Payee limit error")
    PAYEE_PERMISSION_ERROR = ("5300", "Payee permission error")
    PAYEE_BLOCKED = ("5400", "Generic Payee blocked error")

    @property
    def code(self) -> str:
        """The four-digit code, e.g. ``"3106"``."""
        return self.value[0]

    @property
    def description(self) -> str:
        """The standard description of the code."""
        return self.value[1]

    @property
    def http_status(self) -> int:
        """The status of a synchronous answer carrying this error."""
        return _HTTP_STATUS.get(self.code, _HTTP_BY_CATEGORY[self.code[0]])

    @classmethod
    def of(cls, code: str) -> ErrorCode:
        """The member for a four-digit code; a scheme-specific code (the last two digits above
        the standard ones) maps to its generic category, e.g. ``"5199"`` -> ``5100``."""
        found = _BY_CODE.get(code)
        if found is not None:
            return found
        if len(code) == 4 and code.isdigit():
            generic = _BY_CODE.get(code[:2] + "00") or _BY_CODE.get(code[0] + "000")
            if generic is not None:
                return generic
        raise ValueError(f"not an FSPIOP error code: {code!r}")


_BY_CODE = {member.code: member for member in ErrorCode}
_HTTP_BY_CATEGORY = {"1": 503, "2": 500, "3": 400, "4": 400, "5": 400}
_HTTP_STATUS = {
    "2001": 500,
    "2002": 501,
    "2003": 503,
    "2004": 504,
    "2005": 503,
    "3001": 406,
    "3002": 404,
    "3105": 401,
    "3200": 404,
    "3201": 400,
    "3202": 400,
    "3203": 400,
    "3208": 404,
}


def valid_error_code(value: object) -> bool:
    """True if ``value`` is a four-digit FSPIOP error code (standard or scheme-specific)."""
    if not isinstance(value, str) or len(value) != 4 or not value.isdigit():
        return False
    return value[0] in "12345"


def error_body(
    code: ErrorCode,
    description: str | None = None,
    *,
    extensions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The FSPIOP ``ErrorInformationObject`` for ``code``.

    ``description`` defaults to the standard one and is cut to 128 characters; ``extensions``
    become the ``extensionList`` (at most 16 key/value pairs, each cut to its limits).
    """
    text = (description or code.description)[:MAX_DESCRIPTION]
    info: dict[str, Any] = {"errorCode": code.code, "errorDescription": text}
    if extensions:
        info["extensionList"] = {
            "extension": [
                {"key": str(key)[:32], "value": str(value)[:128]}
                for key, value in list(extensions.items())[:MAX_EXTENSIONS]
            ]
        }
    return {"errorInformation": info}


class FspiopError(BaobabError):
    """An error to report to an FSP in FSPIOP form: a code, a description, extensions."""

    code = "switch.fspiop_error"
    title = "FSPIOP error"

    def __init__(
        self,
        error: ErrorCode,
        description: str | None = None,
        *,
        extensions: Mapping[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(description or error.description)
        self.error = error
        self.extensions = dict(extensions or {})
        self._status = status

    def body(self) -> dict[str, Any]:
        """The FSPIOP error body of this error."""
        return error_body(self.error, self.detail, extensions=self.extensions)

    @property
    def http_status(self) -> int:
        """The HTTP status of a synchronous answer: the code's own unless one was given."""
        return self._status or self.error.http_status
