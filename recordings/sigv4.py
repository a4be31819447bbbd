"""AWS Signature Version 4 for S3-compatible object storage (pure functions).

Checked against AWS's published examples in ``tests/recordings/test_sigv4.py``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

UNSIGNED = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Credentials:
    """An access key pair and the region and service it signs for."""

    access_key: str
    secret_key: str
    region: str = "us-east-1"
    service: str = "s3"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    """The derived key of one day, region and service."""
    key = _hmac(("AWS4" + secret_key).encode(), day)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def canonical_query(query: Mapping[str, str]) -> str:
    """Sorted, RFC 3986-encoded query parameters."""
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_hash: str,
) -> tuple[str, str]:
    """The canonical request and the signed-headers list (S3: the path is not re-encoded
    twice; it is given already URI-encoded per segment)."""
    lowered = {k.lower().strip(): " ".join(v.strip().split()) for k, v in headers.items()}
    names = sorted(lowered)
    canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in names)
    signed = ";".join(names)
    request = "\n".join(
        [method, path, canonical_query(query), canonical_headers, signed, payload_hash]
    )
    return request, signed


def authorization(
    credentials: Credentials,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_hash: str,
    at: datetime,
) -> str:
    """The ``Authorization`` header of a request whose ``headers`` already include
    ``host``, ``x-amz-date`` (``at``) and ``x-amz-content-sha256``."""
    request, signed = canonical_request(method, path, query, headers, payload_hash)
    stamp = at.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    scope = f"{day}/{credentials.region}/{credentials.service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(request.encode()).hexdigest()]
    )
    key = signing_key(credentials.secret_key, day, credentials.region, credentials.service)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )


def encode_path(path: str) -> str:
    """URI-encode each segment of an object path (S3 style)."""
    return quote(path, safe="/-_.~")
