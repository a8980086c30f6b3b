"""Messengers: SMS through an HTTP gateway, e-mail through SMTP, and the development outbox.

Message text (an OTP) never goes to the logs. The outbox is a table that `baobab identity
outbox` and the demo read, for development and tests only: production configures real
channels.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage

import httpx
from sqlalchemy import delete, select

from baobab.identity.adapters.tables import outbox
from baobab.identity.ports import OutboxMessage
from baobab.infra.database import Database
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput, Unavailable
from baobab.kernel.ids import new_id


class MessagingUnavailable(Unavailable):
    code = "identity.messaging_unavailable"
    title = "The message could not be sent"


class DevelopmentOutbox:
    """Keeps every message in ``identity_dev_outbox`` instead of sending it."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def send(self, *, channel: str, address: str, subject: str, text: str) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                outbox.insert().values(
                    message_id=new_id(),
                    channel=channel,
                    address=address,
                    subject=subject,
                    text=text,
                    created_at=self._clock.now(),
                )
            )

    def messages(self, *, address: str | None = None, limit: int = 20) -> Sequence[OutboxMessage]:
        """The newest messages first, optionally only those to ``address``."""
        query = select(outbox).order_by(outbox.c.created_at.desc(), outbox.c.message_id.desc())
        if address is not None:
            query = query.where(outbox.c.address == address)
        with self._db.transaction() as connection:
            rows = connection.execute(query.limit(limit)).all()
        return [
            OutboxMessage(r.message_id, r.channel, r.address, r.subject, r.text, r.created_at)
            for r in rows
        ]

    def clear(self) -> int:
        with self._db.transaction() as connection:
            return connection.execute(delete(outbox)).rowcount


class SmsGateway:
    """Posts ``{"to", "text"}`` as JSON to an SMS gateway URL with a bearer API key."""

    def __init__(self, url: str, *, api_key: str, client: httpx.Client | None = None) -> None:
        if not url.startswith("https://"):
            raise InvalidInput("the SMS gateway URL must be https://")
        self._url = url
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._client = client or httpx.Client(timeout=5.0)

    def send(self, *, channel: str, address: str, subject: str, text: str) -> None:
        try:
            response = self._client.post(
                self._url, json={"to": address, "text": text}, headers=self._headers
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise MessagingUnavailable("the SMS gateway did not take the message") from exc


class SmtpMailer:
    """Sends e-mail through an SMTP server with STARTTLS."""

    def __init__(self, *, host: str, port: int, sender: str, user: str, password: str) -> None:
        self._host, self._port = host, port
        self._sender, self._user, self._password = sender, user, password

    def send(self, *, channel: str, address: str, subject: str, text: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._sender, address, subject
        message.set_content(text)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=10) as smtp:
                smtp.starttls()
                smtp.login(self._user, self._password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MessagingUnavailable("the SMTP server did not take the message") from exc


class ChannelRouter:
    """One messenger per channel: ``{"sms": SmsGateway(...), "email": SmtpMailer(...)}``."""

    def __init__(self, channels: dict[str, SmsGateway | SmtpMailer | DevelopmentOutbox]) -> None:
        self._channels = channels

    def send(self, *, channel: str, address: str, subject: str, text: str) -> None:
        messenger = self._channels.get(channel)
        if messenger is None:
            raise MessagingUnavailable(f"no messenger for channel {channel!r}")
        messenger.send(channel=channel, address=address, subject=subject, text=text)
