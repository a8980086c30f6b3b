"""String similarity for names: Jaro-Winkler and "at most one edit" (optimal string alignment).

Both are the textbook definitions (Winkler 1990; Damerau 1964), written for short strings.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["jaro_winkler", "within_one_edit"]

_PREFIX_SCALE = 0.1
_MAX_PREFIX = 4


def jaro_winkler(left: str, right: str) -> float:
    """Jaro-Winkler similarity in ``[0, 1]``; 1 for equal strings, 0 when either is empty.

    Symmetric by construction: the pair is put in one order (shorter first, then alphabetical)
    before the greedy matching, which could otherwise differ by direction.
    """
    if left == right:
        return 1.0 if left else 0.0
    if (len(left), left) > (len(right), right):
        left, right = right, left
    return _jaro_winkler(left, right)


@lru_cache(maxsize=500_000)
def _jaro_winkler(left: str, right: str) -> float:
    len_left, len_right = len(left), len(right)
    if not len_left:
        return 0.0
    window = max(len_right // 2 - 1, 0)
    taken = [False] * len_right
    left_matches: list[str] = []
    for index, char in enumerate(left):
        low = max(0, index - window)
        high = min(index + window + 1, len_right)
        for other in range(low, high):
            if not taken[other] and right[other] == char:
                taken[other] = True
                left_matches.append(char)
                break
    matches = len(left_matches)
    if not matches:
        return 0.0
    right_matches = [right[i] for i in range(len_right) if taken[i]]
    transpositions = sum(a != b for a, b in zip(left_matches, right_matches, strict=True)) // 2
    jaro = (matches / len_left + matches / len_right + (matches - transpositions) / matches) / 3.0
    prefix = 0
    for a, b in zip(left, right, strict=False):
        if a != b or prefix == _MAX_PREFIX:
            break
        prefix += 1
    return jaro + prefix * _PREFIX_SCALE * (1.0 - jaro)


def within_one_edit(left: str, right: str) -> bool:
    """Whether one insertion, deletion, substitution or adjacent transposition turns one into the
    other (or they are equal)."""
    if left == right:
        return True
    len_left, len_right = len(left), len(right)
    if abs(len_left - len_right) > 1:
        return False
    if len_left > len_right:
        left, right, len_left, len_right = right, left, len_right, len_left
    start = 0
    while start < len_left and left[start] == right[start]:
        start += 1
    if len_left == len_right:
        rest = start + 1
        if left[rest:] == right[rest:]:
            return True  # one substitution
        return (
            rest < len_left
            and left[start] == right[rest]
            and left[rest] == right[start]
            and left[rest + 1 :] == right[rest + 1 :]
        )
    return left[start:] == right[start + 1 :]  # one insertion into the shorter
