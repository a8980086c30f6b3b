"""The FSPIOP protocol (Mojaloop Open API for FSP Interoperability v1.1), pure and stateless.

Used by the switch on its edges and by anything that speaks FSPIOP to it (the simulated FSP,
benchmarks, tests): headers and versioned media types (:mod:`.headers`), error codes and the
error body (:mod:`.errors`), the ILP condition and fulfilment (:mod:`.ilp`) and the detached
``FSPIOP-Signature`` (:mod:`.signature`). No database, no web framework.
"""

from baobab.switch.fspiop.errors import ErrorCode, FspiopError, error_body, valid_error_code
from baobab.switch.fspiop.headers import (
    RequestHeaders,
    check_request,
    content_type,
    http_date,
    outgoing_headers,
    parse_http_date,
    parse_media_type,
    valid_fsp_id,
)
from baobab.switch.fspiop.ilp import (
    IlpPrepare,
    condition_of,
    fulfils,
    ilp_prepare_packet,
    new_fulfilment,
    read_ilp_prepare_packet,
    valid_condition,
    valid_fulfilment,
)
from baobab.switch.fspiop.signature import sign_request, verify_request
from baobab.switch.fspiop.values import (
    amount_text,
    datetime_text,
    money_json,
    money_of,
    parse_datetime_text,
)

__all__ = [
    "ErrorCode",
    "FspiopError",
    "IlpPrepare",
    "RequestHeaders",
    "amount_text",
    "check_request",
    "condition_of",
    "content_type",
    "datetime_text",
    "error_body",
    "fulfils",
    "http_date",
    "ilp_prepare_packet",
    "money_json",
    "money_of",
    "new_fulfilment",
    "outgoing_headers",
    "parse_datetime_text",
    "parse_http_date",
    "parse_media_type",
    "read_ilp_prepare_packet",
    "sign_request",
    "valid_condition",
    "valid_error_code",
    "valid_fsp_id",
    "valid_fulfilment",
    "verify_request",
]
