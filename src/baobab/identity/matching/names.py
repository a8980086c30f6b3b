"""Names as matching sees them: one normal form, a phonetic key and nickname canonical forms.

``normalise_name`` turns any spelling into lower-case ASCII words: Unicode NFKC (compatibility
forms, full-width letters), case folding, transliteration of Cyrillic, Greek and Arabic letters to
Latin, removal of diacritics (NFD, then combining marks dropped), a few Latin letters that do not
decompose (``ø``, ``ł``, ``ß``, ``æ``...), and every other character except letters turned into one
space between words (hyphens, apostrophes and dots vanish: ``O'Brien`` is ``obrien``). A leading
Arabic article is dropped when more follows: *al-Hassan*, *El Hassan* and *الحسن* are ``hassan``
(in Arabic script, ``hsn``, which has the same phonetic key).

``phonetic_key`` is Baobab's *skeleton key*, a documented simpler alternative to Double Metaphone
aimed at what separates spellings of one name across alphabets. Multi-letter spellings of one
sound are merged first (``shch``, ``sch``, ``sh``, ``tch``, ``ch``, ``kh`` -> C, as French
*Aicha* is English *Aisha* and German *Michail* is *Mikhail*; ``dzh``/``dj``/
``zh``/``j`` -> J; ``dh`` -> D, ``th`` -> T, ``ph`` -> F, ``gh`` -> G, ``ck``/``q`` -> K,
``ts``/``tz``/``z``/``s`` -> Z, ``x`` -> KZ, ``w`` -> V), a final ``h`` is dropped, ``c`` is
``s`` before ``e``/``i``/``y`` and ``k`` otherwise. Then the first letter is kept (any vowel or
``y`` as ``A``), later vowels, ``y`` and ``h`` are dropped but still
separate consonants, and repeated consonants collapse. Transliterations disagree most on vowels and
Arabic script usually omits them, so *Mohammed*, *Muhammad* and Arabic-script *محمد* all give
``MMD``; *Aleksandr*, *Alexander* and *Александр* give ``ALKZNDR``; *Yusuf*, *Youssef* and *يوسف*
give ``AZF``.
"""

# ruff: noqa: RUF001 - the transliteration tables are made of look-alike letters on purpose
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from baobab.identity.matching.nicknames import NICKNAMES

__all__ = ["canonical_forms", "normalise_name", "phonetic_key"]

# Cyrillic (Russian, Ukrainian, Belarusian, Serbian, Kazakh letters), a simple ISO 9-like scheme
# with the common English digraphs, lower case only: text is case-folded first.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "ye",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ў": "u", "ф": "f",
    "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e",
    "ю": "yu", "я": "ya", "ђ": "dj", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c", "џ": "dz",
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h",
}  # fmt: skip
# Greek (modern, ELOT 743-like), with the accents removed beforehand by NFD.
_GREEK = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i",
    "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p", "ρ": "r", "σ": "s",
    "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps", "ω": "o",
}  # fmt: skip
_GREEK_DIGRAPHS = {"ου": "ou", "αι": "ai", "ει": "ei", "οι": "oi", "μπ": "b", "ντ": "nt"}
# Arabic (and the Persian/Urdu additions): consonants as written, long vowels as letters; ayn as
# "a", the vowel Latin spellings put in its place (Umar, Ali).
_ARABIC = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ٱ": "a", "ء": "", "ؤ": "u", "ئ": "i", "ب": "b",
    "ت": "t", "ث": "th", "ج": "j", "ح": "h", "خ": "kh", "د": "d", "ذ": "dh", "ر": "r", "ز": "z",
    "س": "s", "ش": "sh", "ص": "s", "ض": "d", "ط": "t", "ظ": "z", "ع": "a", "غ": "gh", "ف": "f",
    "ق": "q", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h", "و": "u", "ي": "y", "ى": "a",
    "ة": "a", "پ": "p", "چ": "ch", "ژ": "zh", "گ": "g", "ک": "k", "ی": "y", "ے": "e", "ٹ": "t",
    "ڈ": "d", "ڑ": "r", "ں": "n", "ھ": "h",
}  # fmt: skip
# Latin letters that NFD does not split into a base letter and a mark.
_LATIN = {
    "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ß": "ss", "æ": "ae", "œ": "oe",
    "ı": "i", "ħ": "h", "ŧ": "t", "ŋ": "ng", "ə": "e", "ɛ": "e", "ɔ": "o", "ƙ": "k", "ɓ": "b",
    "ɗ": "d", "ƴ": "y",
}  # fmt: skip
_LETTERS = {**_CYRILLIC, **_GREEK, **_ARABIC, **_LATIN}
_ARABIC_ARTICLE = re.compile(r"(^|\s)ال")
_ARTICLES = frozenset({"al", "el"})


@lru_cache(maxsize=200_000)
def normalise_name(text: str) -> str:
    """Lower-case ASCII words separated by single spaces; ``""`` when nothing is left.

    Idempotent: ``normalise_name(normalise_name(s)) == normalise_name(s)``.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    if "ال" in folded:
        folded = _ARABIC_ARTICLE.sub(r"\1al ", folded)
    bases: list[str] = []
    for char in folded:
        if char in _LETTERS or "a" <= char <= "z":
            bases.append(char)  # kept whole: NFD would split й into и and a breve
        else:
            bases.extend(
                c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
            )
    stripped = "".join(bases)
    for digraph, latin in _GREEK_DIGRAPHS.items():
        if digraph in stripped:
            stripped = stripped.replace(digraph, latin)
    out: list[str] = []
    for char in stripped:
        if "a" <= char <= "z":
            out.append(char)
        elif char in _LETTERS:
            out.append(_LETTERS[char])
        elif char in "'’ʼ`´":  # apostrophes join: O'Brien, Ng'ang'a
            continue
        else:
            out.append(" ")
    words = "".join(out).split()
    if len(words) > 1 and words[0] in _ARTICLES:
        del words[0]  # al-Hassan, El Hassan and Hassan are one family name
    return " ".join(words)


_VOWELS = frozenset("aeiouy")
# Multi-letter spellings rewritten first, longest first; upper-case letters are merged sounds.
_SPELLINGS = (
    ("shch", "C"), ("tch", "C"), ("sch", "C"), ("dzh", "J"), ("sh", "C"), ("ch", "C"),
    ("kh", "C"), ("zh", "J"), ("dj", "J"), ("dh", "D"), ("th", "T"), ("ph", "F"), ("gh", "G"),
    ("ck", "K"), ("ts", "Z"), ("tz", "Z"), ("x", "KZ"), ("q", "K"), ("w", "V"), ("j", "J"),
    ("z", "Z"),
)  # fmt: skip
_SOFT_C = frozenset("eiy")


@lru_cache(maxsize=200_000)
def phonetic_key(name: str) -> str:
    """Baobab's skeleton key of one normalised name (see the module docstring); ``""`` if empty."""
    word = name.replace(" ", "")
    if not word:
        return ""
    for spelling, sound in _SPELLINGS:
        if spelling in word:
            word = word.replace(spelling, sound)
    if word.endswith("h") and len(word) > 1:
        word = word[:-1]
    chars: list[str] = []
    for index, letter in enumerate(word):
        if letter == "c":
            following = word[index + 1] if index + 1 < len(word) else ""
            chars.append("Z" if following in _SOFT_C else "k")
        else:
            chars.append("Z" if letter == "s" else letter)  # s and z are one sound class
    first = chars[0]
    key = ["A" if first in _VOWELS else first.upper()]
    previous = key[0]
    for char in chars[1:]:
        if char in _VOWELS or char == "h":
            previous = "A"  # a vowel or h separates: m-h-m-d keeps both m
            continue
        upper = char.upper()
        if upper != previous:
            key.append(upper)
        previous = upper
    return "".join(key)


@lru_cache(maxsize=200_000)
def canonical_forms(name: str) -> frozenset[str]:
    """The normalised name and the full names it is a nickname or diminutive of."""
    return frozenset((name, *NICKNAMES.get(name, ())))
