"""SigV4 checks for the runtime's internal HTTP endpoints: only requests signed with its own credentials get in.

The local AWS endpoint (moto) and the ``@connections`` API listen on loopback, but anything on
the machine can reach loopback: without a check, reading a task token from moto and calling
SendTaskSuccess would approve a review without the admin token. AWS refuses unsigned and wrongly
signed requests; so do these endpoints, with the same signature botocore computes (the signature
is recomputed from the request as received and compared in constant time).
"""

from __future__ import annotations

import hmac
import re
import secrets
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# AWS refuses a request whose X-Amz-Date is more than 15 minutes away from its clock.
MAX_CLOCK_SKEW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<access_key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<signed_headers>[a-z0-9;._-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class AwsCredentials:
    """The runtime's own access key pair: generated per run unless the user chose one."""

    access_key_id: str
    secret_access_key: str = field(repr=False)

    @classmethod
    def generate(cls) -> AwsCredentials:
        """A key pair shaped like AWS's (AKIA + 16, 40 characters), so every tool accepts it."""
        alphabet = string.ascii_uppercase + string.digits
        access_key = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
        secret = "".join(secrets.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
        return cls(access_key, secret)


class SignatureRefused(Exception):
    """Why a request is refused (the message is safe to send back: it holds no secret)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def verify_request(
    credentials: AwsCredentials | Iterable[AwsCredentials],
    *,
    method: str,
    raw_path: str,
    header: Callable[[str], str | None],
    body: bytes,
    now: datetime | None = None,
) -> None:
    """Raise :class:`SignatureRefused` unless the request carries a valid SigV4 header signature by ``credentials``.

    ``credentials`` is one key pair or several (any of them may sign). ``raw_path`` is the request target as sent (path and query, still percent-encoded), ``header``
    looks a header up by its lower-case name. Presigned URLs are not accepted.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = header("authorization")
    if not authorization:
        raise SignatureRefused("MissingAuthenticationTokenException", "Missing Authentication Token")
    parsed = _AUTHORIZATION.match(authorization)
    if parsed is None:
        raise SignatureRefused("IncompleteSignatureException", "the Authorization header is not a SigV4 signature")
    candidates = [credentials] if isinstance(credentials, AwsCredentials) else list(credentials)
    signer_credentials = next(
        (pair for pair in candidates if hmac.compare_digest(parsed["access_key"], pair.access_key_id)), None
    )
    if signer_credentials is None:
        raise SignatureRefused("UnrecognizedClientException", "The security token included in the request is invalid.")
    amz_date = header("x-amz-date") or ""
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRefused("IncompleteSignatureException", "X-Amz-Date is missing or malformed") from None
    if abs((now or datetime.now(UTC)) - signed_at) > MAX_CLOCK_SKEW or parsed["date"] != amz_date[:8]:
        raise SignatureRefused("InvalidSignatureException", "Signature expired or not yet valid")

    signed_headers = parsed["signed_headers"].split(";")
    if "host" not in signed_headers:
        raise SignatureRefused("IncompleteSignatureException", "the signature must cover the Host header")
    headers = {name: header(name) or "" for name in signed_headers}
    request = AWSRequest(method=method, url=f"http://{headers['host']}{raw_path}", headers=headers, data=body)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(
        Credentials(signer_credentials.access_key_id, signer_credentials.secret_access_key),
        parsed["service"],
        parsed["region"],
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, parsed["signature"]):
        raise SignatureRefused(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        )


class SignedOnly:
    """WSGI middleware: pass a request to ``application`` only if it is signed by ``credentials``; 403 otherwise."""

    def __init__(self, application: Any, credentials: AwsCredentials) -> None:
        self._application = application
        self._credentials = credentials

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        import io

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        try:
            verify_request(
                self._credentials,
                method=environ["REQUEST_METHOD"],
                raw_path=raw_path,
                header=lambda name: _wsgi_header(environ, name),
                body=body,
            )
        except SignatureRefused as refused:
            payload = refusal_body(refused)
            start_response(
                "403 Forbidden",
                [
                    ("Content-Type", "application/x-amz-json-1.0"),
                    ("x-amzn-ErrorType", refused.error_type),
                    ("Content-Length", str(len(payload))),
                ],
            )
            return [payload]
        return self._application(environ, start_response)  # type: ignore[no-any-return]


def refusal_body(refused: SignatureRefused) -> bytes:
    import json

    return json.dumps({"__type": refused.error_type, "message": str(refused)}).encode()


def _wsgi_header(environ: dict[str, Any], name: str) -> str | None:
    key = name.upper().replace("-", "_")
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return environ.get(key)
    value = environ.get("HTTP_" + key)
    return None if value is None else str(value)
