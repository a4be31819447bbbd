"""SigV4 signing against the examples AWS publishes in the S3 API reference
("Signature Calculations for the Authorization Header: Transferring Payload in a Single
Chunk"), which use these credentials and 24 May 2013 00:00:00 UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from recordings.sigv4 import EMPTY_SHA256, Credentials, authorization, encode_path

AWS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
AT = datetime(2013, 5, 24, tzinfo=UTC)
HOST = "examplebucket.s3.amazonaws.com"
SCOPE = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"


@pytest.mark.parametrize(
    ("method", "path", "query", "extra", "payload", "signed", "signature"),
    [
        (
            "GET",
            "/test.txt",
            {},
            {"range": "bytes=0-9"},
            EMPTY_SHA256,
            "host;range;x-amz-content-sha256;x-amz-date",
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        ),
        (
            "PUT",
            encode_path("/test$file.text"),
            {},
            {
                "date": "Fri, 24 May 2013 00:00:00 GMT",
                "x-amz-storage-class": "REDUCED_REDUNDANCY",
            },
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        ),
        (
            "GET",
            "/",
            {"lifecycle": ""},
            {},
            EMPTY_SHA256,
            "host;x-amz-content-sha256;x-amz-date",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        ),
        (
            "GET",
            "/",
            {"max-keys": "2", "prefix": "J"},
            {},
            EMPTY_SHA256,
            "host;x-amz-content-sha256;x-amz-date",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        ),
    ],
)
def test_published_examples(
    method: str,
    path: str,
    query: dict[str, str],
    extra: dict[str, str],
    payload: str,
    signed: str,
    signature: str,
) -> None:
    headers = {
        "host": HOST,
        "x-amz-date": "20130524T000000Z",
        "x-amz-content-sha256": payload,
        **extra,
    }
    assert authorization(AWS, method, path, query, headers, payload, AT) == (
        f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders={signed}, Signature={signature}"
    )


def test_a_different_secret_changes_the_signature() -> None:
    headers = {"host": HOST, "x-amz-date": "20130524T000000Z", "x-amz-content-sha256": EMPTY_SHA256}
    other = Credentials(AWS.access_key, AWS.secret_key + "x")
    assert authorization(AWS, "GET", "/a", {}, headers, EMPTY_SHA256, AT) != authorization(
        other, "GET", "/a", {}, headers, EMPTY_SHA256, AT
    )
