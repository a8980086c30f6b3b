"""A test double of the ABIS: templates are their references, a shared reference is a match."""

from __future__ import annotations

from collections.abc import Sequence

from baobab.identity.biometrics import AbisUnavailable, BiometricCandidate
from baobab.identity.domain import MatchOutcome
from baobab.identity.packets import BiometricRef


class AbisDouble:
    def __init__(self) -> None:
        self.gallery: dict[str, str] = {}  # template reference -> UIN
        self.review: set[str] = set()  # references that only resemble: "review"
        self.down = False
        self.requests: list[tuple[str, str]] = []  # (call, request id)

    def identify(
        self, *, request_id: str, references: Sequence[BiometricRef]
    ) -> Sequence[BiometricCandidate]:
        self._call("identify", request_id)
        found = {}
        for ref in references:
            uin = self.gallery.get(ref.reference)
            if uin is not None:
                outcome = (
                    MatchOutcome.REVIEW if ref.reference in self.review else MatchOutcome.MATCH
                )
                found[uin] = BiometricCandidate(uin, outcome, 90.0)
        return list(found.values())

    def insert(self, *, request_id: str, uin: str, references: Sequence[BiometricRef]) -> None:
        self._call("insert", request_id)
        for ref in references:
            self.gallery[ref.reference] = uin

    def _call(self, call: str, request_id: str) -> None:
        if self.down:
            raise AbisUnavailable("the ABIS double is down")
        self.requests.append((call, request_id))
