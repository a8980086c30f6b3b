"""One-time password challenges in SQL, and the counts that rate-limit them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update

from baobab.identity.adapters.rows import StorePart
from baobab.identity.adapters.tables import challenges
from baobab.identity.otp import OtpChallenge


def _challenge(row: Row[Any]) -> OtpChallenge:
    return OtpChallenge(
        row.otp_id,
        row.uin,
        row.partner,
        row.channel,
        row.code_hash,
        row.created_at,
        row.expires_at,
        row.attempts,
        row.failures,
        row.used_at,
    )


class OtpStore(StorePart):
    """OTP challenges."""

    def add_challenge(self, challenge: OtpChallenge) -> None:
        self._c.execute(
            challenges.insert().values(
                otp_id=challenge.transaction_id,
                uin=challenge.uin,
                partner=challenge.partner,
                channel=challenge.channel,
                code_hash=challenge.code_hash,
                created_at=challenge.created_at,
                expires_at=challenge.expires_at,
                attempts=challenge.attempts,
                failures=challenge.failures,
                used_at=challenge.used_at,
            )
        )

    def get_challenge(self, transaction_id: str) -> OtpChallenge | None:
        query = select(challenges).where(challenges.c.otp_id == transaction_id).with_for_update()
        row = self._c.execute(query).first()
        return _challenge(row) if row else None

    def save_challenge(self, challenge: OtpChallenge) -> None:
        self._c.execute(
            update(challenges)
            .where(challenges.c.otp_id == challenge.transaction_id)
            .values(
                attempts=challenge.attempts, failures=challenge.failures, used_at=challenge.used_at
            )
        )

    def count_challenges(
        self, *, since: datetime, uin: str | None = None, partner: str | None = None
    ) -> int:
        query = select(func.count()).select_from(challenges).where(challenges.c.created_at > since)
        if uin is not None:
            query = query.where(challenges.c.uin == uin)
        if partner is not None:
            query = query.where(challenges.c.partner == partner)
        return int(self._c.execute(query).scalar_one())

    def failures_since(self, uin: str, since: datetime) -> int:
        query = select(func.coalesce(func.sum(challenges.c.failures), 0)).where(
            challenges.c.uin == uin, challenges.c.created_at > since
        )
        return int(self._c.execute(query).scalar_one())
