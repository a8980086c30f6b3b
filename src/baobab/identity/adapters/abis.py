"""The ABIS over HTTP: Baobab's side of an external biometric matcher.

Two JSON calls, each with the caller's bearer key when one is configured:

- ``POST {base}/identify`` ``{"request_id", "biometrics": [{"modality", "reference"}]}`` answers
  ``{"candidates": [{"uin", "decision": "match"|"review", "score"}]}`` (no candidates: nobody
  in the gallery has these biometrics);
- ``POST {base}/insert`` ``{"request_id", "uin", "biometrics": [...]}`` answers any 2xx once the
  templates are in the gallery under that UIN.

The request id is the packet id, so a retried packet is recognisable to the ABIS. A network
failure, an error status or an answer of another shape is :class:`AbisUnavailable`: the packet
is then not settled and changes nothing, and the agency sends it again later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from baobab.identity.biometrics import AbisUnavailable, BiometricCandidate
from baobab.identity.domain import MatchOutcome
from baobab.identity.packets import BiometricRef

_DECISIONS = {"match": MatchOutcome.MATCH, "review": MatchOutcome.REVIEW}


class HttpAbis:
    """A :class:`~baobab.identity.ports.BiometricMatcher` at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def identify(
        self, *, request_id: str, references: Sequence[BiometricRef]
    ) -> Sequence[BiometricCandidate]:
        answer = self._post("/identify", {"request_id": request_id, **_biometrics(references)})
        try:
            return [
                BiometricCandidate(
                    str(c["uin"]), _DECISIONS[c["decision"]], float(c.get("score", 0.0))
                )
                for c in answer["candidates"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise AbisUnavailable("the ABIS answered identify in an unknown shape") from exc

    def insert(self, *, request_id: str, uin: str, references: Sequence[BiometricRef]) -> None:
        self._post("/insert", {"request_id": request_id, "uin": uin, **_biometrics(references)})

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            response = self._client.post(path, json=body)
            response.raise_for_status()
            return response.json() if response.content else None
        except (httpx.HTTPError, ValueError) as exc:
            raise AbisUnavailable(f"the ABIS did not answer {path}: {type(exc).__name__}") from exc

    def close(self) -> None:
        self._client.close()


def _biometrics(references: Sequence[BiometricRef]) -> dict[str, Any]:
    return {"biometrics": [{"modality": r.modality, "reference": r.reference} for r in references]}
