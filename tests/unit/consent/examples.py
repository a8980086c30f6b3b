"""Example organisations, tokens and agreement terms shared by the consent tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from baobab.consent import AgreementTerms, DataAttribute, LawfulBasis, PolicyRef

BANK = "DEV/COM/BANKA"
OTHER_BANK = "DEV/COM/BANKB"
ALICE = "tok-alice-0001"
BOB = "tok-bob-000002"

EKYC = AgreementTerms(
    purpose="ekyc",
    purpose_description="Verify the customer's identity when an account is opened",
    lawful_basis=LawfulBasis.CONSENT,
    attributes=(
        DataAttribute("full_name", "identity"),
        DataAttribute("birth_date", "identity"),
        DataAttribute("photo", "biometric", sensitive=True),
    ),
    recipients=(BANK,),
    retention_days=365,
    policy=PolicyRef(
        "Bank A privacy policy", "2026.1", "https://banka.example/privacy/2026.1", "ZZ"
    ),
)


def terms(**changes: Any) -> AgreementTerms:
    """The eKYC terms with ``changes``."""
    return replace(EKYC, **changes)


def terms_json(**changes: Any) -> dict[str, Any]:
    """The eKYC terms as an API request body, with ``changes``."""
    body = EKYC.to_dict()
    del body["active"]  # set by retiring the agreement, not by a request body
    body.update(changes)
    return body
