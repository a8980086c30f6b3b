"""Keys and compact JWS: Ed25519 and P-256 round trips, and refusal of every malformed input."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pytest

from baobab.kernel.errors import InvalidInput
from baobab.kernel.signing import (
    InvalidKey,
    MalformedJws,
    Signer,
    algorithms_for,
    b64url,
    b64url_decode,
    import_public_jwk,
    parse_compact,
)

# RFC 8037, appendix A.1-A.4: an Ed25519 key, its thumbprint, and a JWS made with alg EdDSA.
RFC8037_PRIVATE = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_PUBLIC = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_PRIVATE["x"]}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

CURVES = ["Ed25519", "P-256"]


@pytest.fixture(scope="module")
def ed_signer() -> Signer:
    return Signer.generate("Ed25519")


@pytest.fixture(scope="module")
def ec_signer() -> Signer:
    return Signer.generate("P-256")


def signer_for(curve: str, ed: Signer, ec: Signer) -> Signer:
    return ed if curve == "Ed25519" else ec


def thumbprint(members: Mapping[str, str]) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without whitespace."""
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


# --- base64url ---------------------------------------------------------------------------------


def test_b64url_has_no_padding_and_the_url_alphabet() -> None:
    assert b64url(b"\xfb\xff") == "-_8"
    assert b64url(b"") == ""
    assert b64url_decode("-_8") == b"\xfb\xff"
    with pytest.raises(MalformedJws, match="not unpadded base64url"):
        b64url_decode("-_8=")  # RFC 7515 base64url carries no padding


def test_b64url_decode_refuses_impossible_lengths() -> None:
    with pytest.raises(MalformedJws, match="not unpadded base64url"):
        b64url_decode("abcde")


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("curve", "alg"), [("Ed25519", "Ed25519"), ("P-256", "ES256")])
def test_generate_makes_a_key_of_the_curve(
    curve: str, alg: str, ed_signer: Signer, ec_signer: Signer
) -> None:
    signer = signer_for(curve, ed_signer, ec_signer)
    assert signer.alg == alg
    public = signer.public_jwk()
    assert public["crv"] == curve
    assert public["alg"] == alg
    assert public["use"] == "sig"
    assert public["kid"] == signer.kid
    assert "d" not in public
    required: dict[str, str] = {k: public[k] for k in ("crv", "kty", "x", "y") if k in public}
    assert signer.kid == thumbprint(required)


def test_generate_refuses_other_curves() -> None:
    with pytest.raises(InvalidKey, match="unsupported curve 'P-384'"):
        Signer.generate("P-384")


def test_generated_keys_differ() -> None:
    assert Signer.generate().kid != Signer.generate().kid


def test_private_jwk_loads_back_into_the_same_signer(ed_signer: Signer) -> None:
    private = ed_signer.private_jwk()
    assert "d" in private
    assert private["kid"] == ed_signer.kid
    assert Signer(private).kid == ed_signer.kid


def test_rfc_8037_thumbprint() -> None:
    assert import_public_jwk(RFC8037_PUBLIC).kid == RFC8037_THUMBPRINT
    assert Signer(RFC8037_PRIVATE).kid == RFC8037_THUMBPRINT


@pytest.mark.parametrize(
    "private",
    [
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_PRIVATE["x"]},  # public only
        {"kty": "OKP", "crv": "Ed25519", "d": "AAAA", "x": "AAAA"},
        {"kty": "oct", "k": b64url(bytes(32))},
        {},
    ],
    ids=["public-only", "short", "symmetric", "empty"],
)
def test_signer_refuses_what_is_not_a_private_signing_key(private: dict[str, str]) -> None:
    with pytest.raises(InvalidKey):
        Signer(private)


def test_import_public_jwk_accepts_a_public_key(ec_signer: Signer) -> None:
    published = ec_signer.public_jwk()
    key = import_public_jwk(published)
    assert key.kid == ec_signer.kid
    assert key.algorithms == ("ES256",)
    assert key.jwk() == published
    assert set(key.public) == {"kty", "crv", "x", "y"}


def test_import_public_jwk_accepts_both_ed25519_names() -> None:
    for alg in ("Ed25519", "EdDSA"):
        key = import_public_jwk({**RFC8037_PUBLIC, "alg": alg, "kid": RFC8037_THUMBPRINT})
        assert key.algorithms == ("Ed25519", "EdDSA")


def test_import_public_jwk_refuses_private_material() -> None:
    with pytest.raises(InvalidKey, match="private key material"):
        import_public_jwk(RFC8037_PRIVATE)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "crv": "X25519", "x": RFC8037_PRIVATE["x"]},
        {"kty": "OKP", "crv": "Ed448", "x": RFC8037_PRIVATE["x"]},
        {"kty": "EC", "crv": "P-384", "x": "AAAA", "y": "AAAA"},
        {"kty": "EC", "crv": "Ed25519", "x": RFC8037_PRIVATE["x"]},
        {"crv": "Ed25519", "x": RFC8037_PRIVATE["x"]},
    ],
    ids=["rsa", "x25519", "ed448", "p384", "ec-ed25519", "no-kty"],
)
def test_import_public_jwk_refuses_other_key_types_and_curves(jwk: dict[str, str]) -> None:
    with pytest.raises(InvalidKey, match=r"Ed25519 \(kty OKP\) or P-256"):
        import_public_jwk(jwk)


def test_import_public_jwk_refuses_missing_members(ec_signer: Signer) -> None:
    public = ec_signer.public_jwk()
    for member in ("x", "y"):
        incomplete = {k: v for k, v in public.items() if k != member}
        with pytest.raises(InvalidKey, match=f"lacks the member '{member}'"):
            import_public_jwk(incomplete)
    with pytest.raises(InvalidKey, match="lacks the member 'x'"):
        import_public_jwk({"kty": "OKP", "crv": "Ed25519", "x": ""})
    with pytest.raises(InvalidKey, match="lacks the member 'x'"):
        import_public_jwk({"kty": "OKP", "crv": "Ed25519", "x": 12})


def test_import_public_jwk_refuses_a_kid_that_is_not_the_thumbprint(ed_signer: Signer) -> None:
    with pytest.raises(InvalidKey, match="RFC 7638 thumbprint"):
        import_public_jwk({**RFC8037_PUBLIC, "kid": ed_signer.kid})


@pytest.mark.parametrize(
    ("curve", "alg"),
    [
        ("Ed25519", "ES256"),
        ("Ed25519", "RS256"),
        ("P-256", "EdDSA"),
        ("P-256", "ES384"),
        ("P-256", "none"),
    ],
)
def test_import_public_jwk_refuses_an_alg_that_does_not_fit(
    curve: str, alg: str, ed_signer: Signer, ec_signer: Signer
) -> None:
    public = signer_for(curve, ed_signer, ec_signer).public_jwk()
    with pytest.raises(InvalidKey, match=f"alg '{alg}' does not fit a {curve} key"):
        import_public_jwk({**public, "alg": alg})


def test_import_public_jwk_refuses_a_point_off_the_curve(ec_signer: Signer) -> None:
    public = ec_signer.public_jwk()
    y = bytearray(b64url_decode(public["y"]))
    y[-1] ^= 1
    with pytest.raises(InvalidKey, match="not a valid P-256 public key"):
        import_public_jwk({"kty": "EC", "crv": "P-256", "x": public["x"], "y": b64url(bytes(y))})


def test_import_public_jwk_refuses_an_ed25519_key_of_the_wrong_length() -> None:
    with pytest.raises(InvalidKey, match="not a valid Ed25519 public key"):
        import_public_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64url(bytes(31))})


def test_import_public_jwk_refuses_what_is_not_an_object() -> None:
    not_a_mapping: Any = [("kty", "OKP")]
    with pytest.raises(InvalidKey, match="JSON object"):
        import_public_jwk(not_a_mapping)


def test_algorithms_for() -> None:
    assert algorithms_for({"kty": "OKP", "crv": "Ed25519"}) == ("Ed25519", "EdDSA")
    assert algorithms_for({"kty": "EC", "crv": "P-256"}) == ("ES256",)
    with pytest.raises(InvalidKey):
        algorithms_for({"kty": "EC", "crv": "P-521"})


def test_key_errors_are_invalid_input() -> None:
    assert issubclass(InvalidKey, InvalidInput)
    assert issubclass(MalformedJws, InvalidInput)
    assert InvalidKey.code == "kernel.invalid_key"
    assert MalformedJws.code == "kernel.malformed_jws"


# --- compact JWS -------------------------------------------------------------------------------


@pytest.mark.parametrize("curve", CURVES)
def test_encode_parse_verify_round_trip(curve: str, ed_signer: Signer, ec_signer: Signer) -> None:
    signer = signer_for(curve, ed_signer, ec_signer)
    token = signer.encode({"sub": "KE/GOV/1/app", "n": 1}, typ="JWT")
    jws = parse_compact(token)
    assert jws.header == {"alg": signer.alg, "kid": signer.kid, "typ": "JWT"}
    assert jws.claims() == {"sub": "KE/GOV/1/app", "n": 1}
    assert jws.signing_input == token.rsplit(".", 1)[0].encode()
    assert len(jws.signature) == 64
    assert jws.verified_by(signer.verification_key) is True
    assert jws.verified_by(import_public_jwk(signer.public_jwk())) is True


@pytest.mark.parametrize("curve", CURVES)
def test_a_tampered_payload_fails(curve: str, ed_signer: Signer, ec_signer: Signer) -> None:
    signer = signer_for(curve, ed_signer, ec_signer)
    header, _, signature = signer.encode({"amount": "10.00"}).split(".")
    forged = b64url(json.dumps({"amount": "99.00"}, separators=(",", ":")).encode())
    jws = parse_compact(f"{header}.{forged}.{signature}")
    assert jws.claims() == {"amount": "99.00"}
    assert jws.verified_by(signer.verification_key) is False


@pytest.mark.parametrize("curve", CURVES)
def test_a_tampered_header_fails(curve: str, ed_signer: Signer, ec_signer: Signer) -> None:
    signer = signer_for(curve, ed_signer, ec_signer)
    _, payload, signature = signer.encode({"a": 1}).split(".")
    header = b64url(json.dumps({"alg": signer.alg, "kid": "someone-else"}).encode())
    assert (
        parse_compact(f"{header}.{payload}.{signature}").verified_by(signer.verification_key)
        is False
    )


@pytest.mark.parametrize("curve", CURVES)
def test_a_tampered_signature_fails(curve: str, ed_signer: Signer, ec_signer: Signer) -> None:
    signer = signer_for(curve, ed_signer, ec_signer)
    header, payload, signature = signer.encode({"a": 1}).split(".")
    raw = bytearray(b64url_decode(signature))
    for index in (0, 31, 32, 63):
        flipped = bytearray(raw)
        flipped[index] ^= 0x01
        jws = parse_compact(f"{header}.{payload}.{b64url(bytes(flipped))}")
        assert jws.verified_by(signer.verification_key) is False


@pytest.mark.parametrize("curve", CURVES)
def test_a_signature_of_the_wrong_length_fails(
    curve: str, ed_signer: Signer, ec_signer: Signer
) -> None:
    signer = signer_for(curve, ed_signer, ec_signer)
    header, payload, signature = signer.encode({"a": 1}).split(".")
    short = b64url(b64url_decode(signature)[:63])
    assert (
        parse_compact(f"{header}.{payload}.{short}").verified_by(signer.verification_key) is False
    )


def test_a_key_of_the_other_curve_fails(ed_signer: Signer, ec_signer: Signer) -> None:
    ed_token = parse_compact(ed_signer.encode({"a": 1}))
    ec_token = parse_compact(ec_signer.encode({"a": 1}))
    assert ed_token.verified_by(ec_signer.verification_key) is False
    assert ec_token.verified_by(ed_signer.verification_key) is False


def test_another_key_of_the_same_curve_fails(ed_signer: Signer, ec_signer: Signer) -> None:
    for signer in (ed_signer, ec_signer):
        other = Signer.generate("Ed25519" if signer is ed_signer else "P-256")
        assert parse_compact(signer.encode({"a": 1})).verified_by(other.verification_key) is False


def test_an_alg_the_key_does_not_take_fails_even_with_a_good_signature(ec_signer: Signer) -> None:
    header = b64url(json.dumps({"alg": "ES384", "kid": ec_signer.kid}).encode())
    signing_input = f"{header}.{b64url(b'{}')}"
    token = f"{signing_input}.{b64url(ec_signer.sign(signing_input.encode()))}"
    assert parse_compact(token).verified_by(ec_signer.verification_key) is False


def test_eddsa_name_is_accepted_for_ed25519_keys(ed_signer: Signer) -> None:
    header = b64url(json.dumps({"alg": "EdDSA", "kid": ed_signer.kid}).encode())
    signing_input = f"{header}.{b64url(json.dumps({'sub': 'x'}).encode())}"
    token = f"{signing_input}.{b64url(ed_signer.sign(signing_input.encode('ascii')))}"
    jws = parse_compact(token)
    assert jws.header["alg"] == "EdDSA"
    assert jws.verified_by(ed_signer.verification_key) is True
    assert jws.claims() == {"sub": "x"}


def test_rfc_8037_jws_verifies() -> None:
    jws = parse_compact(RFC8037_JWS)
    assert jws.header == {"alg": "EdDSA"}
    assert jws.payload == b"Example of Ed25519 signing"
    assert jws.verified_by(import_public_jwk(RFC8037_PUBLIC)) is True
    # Ed25519 is deterministic: the RFC's key makes the RFC's signature.
    assert b64url(Signer(RFC8037_PRIVATE).sign(jws.signing_input)) == RFC8037_JWS.split(".")[2]
    with pytest.raises(MalformedJws, match="not JSON"):
        jws.claims()


def test_claims_must_be_a_json_object(ed_signer: Signer) -> None:
    header = b64url(json.dumps({"alg": "Ed25519"}).encode())
    for payload, message in [(b"[1, 2]", "not a JSON object"), (b"\xff\xfe", "not JSON")]:
        jws = parse_compact(f"{header}.{b64url(payload)}.{b64url(bytes(64))}")
        with pytest.raises(MalformedJws, match=message):
            jws.claims()


GOOD_HEADER = b64url(b'{"alg":"Ed25519"}')
GOOD_SIGNATURE = b64url(bytes(64))
ALG_NOT_STRING = b64url(b'{"alg":256}')
HEADER_A_LIST = b64url(b'["alg"]')


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "three base64url parts"),
        (f"{GOOD_HEADER}.e30", "three base64url parts"),
        (f"{GOOD_HEADER}.e30.{GOOD_SIGNATURE}.e30", "three base64url parts"),
        (f".e30.{GOOD_SIGNATURE}", "three base64url parts"),
        (f"{GOOD_HEADER}.e30.", "three base64url parts"),
        (f"abcde.e30.{GOOD_SIGNATURE}", "not unpadded base64url"),
        (f"{GOOD_HEADER}.abcde.{GOOD_SIGNATURE}", "not unpadded base64url"),
        (f"{GOOD_HEADER}.e30.abcde", "not unpadded base64url"),
        (f"{b64url(b'not json')}.e30.{GOOD_SIGNATURE}", "header is not JSON"),
        (f"{b64url(b'{ff}')}.e30.{GOOD_SIGNATURE}", "header is not JSON"),
        (f"{b64url(bytes([0xFF]))}.e30.{GOOD_SIGNATURE}", "header is not JSON"),
        (f"{b64url(b'{}')}.e30.{GOOD_SIGNATURE}", "has no alg"),
        (f"{ALG_NOT_STRING}.e30.{GOOD_SIGNATURE}", "has no alg"),
        (f"{HEADER_A_LIST}.e30.{GOOD_SIGNATURE}", "has no alg"),
    ],
    ids=[
        "empty",
        "two-parts",
        "four-parts",
        "no-header",
        "no-signature",
        "bad-base64-header",
        "bad-base64-payload",
        "bad-base64-signature",
        "header-not-json",
        "header-broken-json",
        "header-not-utf8",
        "no-alg",
        "alg-not-string",
        "header-not-object",
    ],
)
def test_parse_compact_refuses_malformed_input(token: str, message: str) -> None:
    with pytest.raises(MalformedJws, match=message):
        parse_compact(token)


def test_parse_compact_refuses_what_is_not_a_string() -> None:
    not_a_string: Any = b"a.b.c"
    with pytest.raises(MalformedJws):
        parse_compact(not_a_string)


@pytest.mark.parametrize("text", ["+/8", "-_!!!!8", "-_ 8\n"])
def test_b64url_decode_refuses_characters_outside_the_url_alphabet(text: str) -> None:
    with pytest.raises(MalformedJws):
        b64url_decode(text)
