"""How claimed text is compared: ASCII takes a shortcut, which must agree with the Unicode path."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from baobab.identity.factors import normalise


def _full_width(text: str) -> str:
    """The same text in full-width forms, which NFKC maps back to ASCII: not ASCII itself, so
    it goes the whole Unicode way."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) for c in text)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_ascii_text_normalises_as_its_full_width_form_does(text: str) -> None:
    assert normalise(text) == normalise(_full_width(text))


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_ascii_text_is_folded_to_lower_case_single_spaced(text: str) -> None:
    folded = normalise(text)
    assert folded == folded.strip()
    assert "  " not in folded
    assert folded == folded.casefold()


def test_diacritics_case_and_spaces() -> None:
    assert normalise("  José \t Núñez ") == "jose nunez" == normalise("JOSE NUNEZ")
    assert normalise("Amína") == normalise("amina")
    assert normalise(_full_width("AMINA")) == "amina"
