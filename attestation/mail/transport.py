"""SMTP delivery of one outbox letter with aiosmtplib, configured from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses

import aiosmtplib

from attestation.mail.models import OutboxLetter
from server.settings import Settings


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how letters are handed over: ``security`` is starttls, tls or none."""

    host: str
    port: int
    security: str
    username: str
    password: str
    sender: str
    timeout: float
    ca_file: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """The SMTP part of the settings."""
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.mail_from,
            timeout=settings.smtp_timeout_seconds,
            ca_file=settings.smtp_ca_file,
        )

    @property
    def configured(self) -> bool:
        """An SMTP server is set; otherwise letters wait in the outbox."""
        return bool(self.host)

    @property
    def sender_address(self) -> str:
        """The bare address of ``sender`` (which may carry a display name)."""
        return getaddresses([self.sender])[0][1] or self.sender


def message_id(row: OutboxLetter, sender: str) -> str:
    """A Message-ID that stays the same across retries, so a receiver can drop a letter
    delivered twice (after a sender died between delivery and recording it)."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<outbox-{row.id}.{int(row.created_at.timestamp())}@{domain}>"


def build_message(row: OutboxLetter, config: SmtpConfig) -> EmailMessage:
    """The MIME message of a letter: plain text with an HTML alternative, UTF-8."""
    message = EmailMessage()
    message["From"] = config.sender
    if row.to_name:
        message["To"] = Address(display_name=row.to_name, addr_spec=row.to_address)
    else:
        message["To"] = formataddr(("", row.to_address))
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = message_id(row, config.sender_address)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    return message


def is_permanent(error: Exception) -> bool:
    """The recipient was refused for good (5xx): retrying would not help."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= refused.code < 600 for refused in error.recipients)
    return False


async def deliver(message: EmailMessage, config: SmtpConfig) -> None:
    """Hand one message to the SMTP server; raises on any failure."""
    await aiosmtplib.send(
        message,
        hostname=config.host,
        port=config.port,
        username=config.username or None,
        password=config.password or None,
        use_tls=config.security == "tls",
        start_tls=config.security == "starttls",
        timeout=config.timeout,
        cert_bundle=config.ca_file or None,
    )
