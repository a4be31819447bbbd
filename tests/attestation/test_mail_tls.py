"""SMTP with STARTTLS and a login against a real aiosmtpd server on 127.0.0.1 with its own
certificate: the certificate is verified (an untrusted one is a visible failure), the
password travels only inside TLS, and a wrong password is a visible failure."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from attestation.mail import outbox
from attestation.mail.letters import Letter
from attestation.mail.mailer import MAILER
from attestation.mail.models import OutboxLetter
from server.app import create_app
from server.appkeys import SESSIONS
from server.settings import REPO_ROOT, Settings
from tests.seed import eventually

LOGIN, PASSWORD = "mailer", "s3cret-пароль"


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "examroom test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.pem", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class SecureInbox:
    """Accepts mail only after STARTTLS and a correct login; remembers what it saw."""

    def __init__(self) -> None:
        self.received: list[tuple[bool, bytes]] = []
        self.logins: list[tuple[str, str]] = []

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=(login, password) == (LOGIN, PASSWORD), handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append((session.ssl is not None, envelope.original_content or b""))
        return "250 Message accepted for delivery"


@pytest.fixture
def secure_smtp(tmp_path: Path) -> Iterator[tuple[SecureInbox, int, Path]]:
    """An SMTP server requiring STARTTLS and AUTH; yields it, its port and its CA file."""
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = SecureInbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=inbox.authenticate,
    )
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


def _settings(tmp_path: Path, port: int, **changes: Any) -> Settings:
    base = Settings(
        data_dir=tmp_path / "data",
        web_dir=REPO_ROOT / "web",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="starttls",
        smtp_username=LOGIN,
        smtp_password=PASSWORD,
        mail_from="courses@example.org",
        smtp_timeout_seconds=5.0,
        mail_max_attempts=1,
        mail_poll_seconds=0.05,
    )
    return base.replace(**changes)


async def _send_one(settings: Settings) -> OutboxLetter:
    """Queue one letter on a running server and wait until it is sent or failed."""
    server = TestServer(create_app(settings))
    await server.start_server()
    try:
        app = server.app
        letter = Letter("notice", "l1@example.org", "Слушатель", "Тема", "Текст", "")
        async with app[SESSIONS]() as db:
            row = await outbox.enqueue(db, app[MAILER].clock.now(), letter)
            await db.commit()
        app[MAILER].wake()

        async def done() -> OutboxLetter | None:
            async with app[SESSIONS]() as db:
                found = await db.get(OutboxLetter, row.id)
            assert found is not None
            return found if found.status in {outbox.SENT, outbox.FAILED} else None

        return await eventually(done, within=15)
    finally:
        await server.close()


async def test_starttls_with_a_trusted_certificate_and_a_login_delivers(
    tmp_path: Path, secure_smtp: tuple[SecureInbox, int, Path]
) -> None:
    inbox, port, ca = secure_smtp
    row = await _send_one(_settings(tmp_path, port, smtp_ca_file=str(ca)))
    assert row.status == outbox.SENT, row.last_error
    assert inbox.logins == [(LOGIN, PASSWORD)]
    [(over_tls, content)] = inbox.received
    assert over_tls, "the letter must travel inside TLS"
    assert b"Subject: =?utf-8?b?" in content  # the Russian subject, MIME-encoded


async def test_an_untrusted_certificate_is_refused_and_shown(
    tmp_path: Path, secure_smtp: tuple[SecureInbox, int, Path]
) -> None:
    inbox, port, _ca = secure_smtp
    row = await _send_one(_settings(tmp_path, port))
    assert row.status == outbox.FAILED
    assert "certificate" in row.last_error.lower(), row.last_error
    assert inbox.logins == [] and inbox.received == []


async def test_a_wrong_password_is_a_visible_failure(
    tmp_path: Path, secure_smtp: tuple[SecureInbox, int, Path]
) -> None:
    inbox, port, ca = secure_smtp
    row = await _send_one(_settings(tmp_path, port, smtp_ca_file=str(ca), smtp_password="x"))
    assert row.status == outbox.FAILED
    assert "535" in row.last_error, row.last_error
    assert inbox.received == []
