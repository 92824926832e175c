"""Verifying WaveSpeed completion webhooks (providers.md §2.3), for users who receive them.

WaveSpeed POSTs the bare prediction object to `?webhook=<url>` when a task completes or fails,
signed with the account's webhook secret:

    webhook-id: <id>    webhook-timestamp: <unix seconds>    webhook-signature: v3,<hex>
    hex = HMAC-SHA256(key = secret without "whsec_" (used as text, NOT base64-decoded),
                      msg = "{webhook-id}.{webhook-timestamp}.{raw body}")

A delivery is accepted only if a signature matches (compared in constant time) and the
timestamp is within `tolerance` seconds of now (replay protection). The raw body must be the
exact bytes received: re-serialised JSON will not verify. Deliveries are retried up to 3 times,
so receivers should dedupe by `webhook-id`. Pure functions; no I/O, no clock of its own.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_VERSION = "v3"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300.0


class WebhookVerificationError(ValueError):
    """A webhook delivery failed verification; the message says why (never the secret)."""


def _key(secret: str) -> bytes:
    if not isinstance(secret, str) or not secret.strip():
        # a configuration error, not a bad delivery: never silently "False"
        raise ValueError("the webhook secret is empty (get it from GET /api/v3/webhook/secret)")
    secret = secret.strip()
    return (secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret).encode("utf-8")


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"missing header {name}")


def _raw(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def compute_signature(secret: str, webhook_id: str, timestamp: str | int, body: bytes | str) -> str:
    """The hex HMAC-SHA256 WaveSpeed puts after `v3,` in `webhook-signature`."""
    message = f"{webhook_id}.{timestamp}.".encode() + _raw(body)
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def sign_webhook(secret: str, webhook_id: str, timestamp: int, body: bytes | str) -> dict[str, str]:
    """The headers a genuine delivery carries (for tests and for emulating WaveSpeed)."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"{SIGNATURE_VERSION},{compute_signature(secret, webhook_id, timestamp, body)}",
    }


def check_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> None:
    """Raise `WebhookVerificationError` unless the delivery is genuine and fresh."""
    webhook_id = _header(headers, "webhook-id").strip()
    stamp = _header(headers, "webhook-timestamp").strip()
    signatures = _header(headers, "webhook-signature")
    if not webhook_id:
        raise WebhookVerificationError("empty webhook-id header")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp is not unix seconds: {stamp[:40]!r}") from None
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {abs(now - timestamp):.0f}s away from now (tolerance {tolerance:.0f}s): "
            "a replay, or this machine's clock is off"
        )
    expected = compute_signature(secret, webhook_id, stamp, body)
    # Several signatures may be sent space-separated (key rotation); any valid v3 one will do.
    candidates = [part.split(",", 1) for part in signatures.split() if "," in part]
    v3 = [sig for version, sig in candidates if version == SIGNATURE_VERSION]
    if not v3:
        raise WebhookVerificationError(f"webhook-signature has no {SIGNATURE_VERSION},<hex> signature")
    matched = False
    for sig in v3:  # compare every candidate, so timing does not reveal which one matched
        matched |= hmac.compare_digest(sig.strip().lower().encode(), expected.encode())
    if not matched:
        raise WebhookVerificationError(
            "webhook-signature does not match the body (wrong secret, or the body was altered)"
        )


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """True if the delivery is genuine and fresh; `check_webhook` says why when it is not."""
    try:
        check_webhook(secret, headers, body, now=now, tolerance=tolerance)
    except WebhookVerificationError:
        return False
    return True


__all__ = [
    "DEFAULT_TOLERANCE",
    "WebhookVerificationError",
    "check_webhook",
    "compute_signature",
    "sign_webhook",
    "verify_webhook",
]
