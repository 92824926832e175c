"""Webhook signature verification (providers.md §2.3), checked against an independent computation."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from reconciler.providers.wavespeed.webhooks import (
    WebhookVerificationError,
    check_webhook,
    sign_webhook,
    verify_webhook,
)

SECRET = "whsec_c2VjcmV0LWtleQ=="  # the part after whsec_ is used as text, not base64-decoded
BODY = b'{"id":"abc","status":"completed","outputs":["https://cdn/x.safetensors"]}'
NOW = 1_767_225_600


def _headers(
    ts: int = NOW, body: bytes = BODY, key: str = "c2VjcmV0LWtleQ==", wid: str = "msg_1"
) -> dict[str, str]:
    digest = hmac.new(key.encode(), f"{wid}.{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"webhook-id": wid, "webhook-timestamp": str(ts), "webhook-signature": f"v3,{digest}"}


def test_genuine_delivery_verifies() -> None:
    assert verify_webhook(SECRET, _headers(), BODY, now=NOW)
    assert verify_webhook(SECRET.removeprefix("whsec_"), _headers(), BODY, now=NOW)  # prefix optional
    assert verify_webhook(SECRET, _headers(), BODY.decode(), now=NOW)  # str bodies are encoded as UTF-8
    check_webhook(SECRET, {k.upper(): v for k, v in _headers().items()}, BODY, now=NOW)  # header case


def test_sign_webhook_matches_the_documented_algorithm() -> None:
    assert sign_webhook(SECRET, "msg_1", NOW, BODY) == _headers()


def test_key_is_not_base64_decoded() -> None:
    import base64

    decoded = base64.b64decode("c2VjcmV0LWtleQ==").decode()
    assert not verify_webhook(SECRET, _headers(key=decoded), BODY, now=NOW)


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (_headers(), BODY + b" ", "does not match"),
        (_headers(wid="msg_2") | {"webhook-id": "msg_1"}, BODY, "does not match"),
        (_headers() | {"webhook-signature": "v1," + "0" * 64}, BODY, "no v3"),
        (_headers() | {"webhook-signature": "v3," + "0" * 64}, BODY, "does not match"),
        ({k: v for k, v in _headers().items() if k != "webhook-id"}, BODY, "missing header webhook-id"),
        (
            {k: v for k, v in _headers().items() if k != "webhook-signature"},
            BODY,
            "missing header webhook-signature",
        ),
        (_headers() | {"webhook-timestamp": "soon"}, BODY, "not unix seconds"),
    ],
)
def test_forgeries_are_rejected(headers: dict[str, str], body: bytes, reason: str) -> None:
    assert not verify_webhook(SECRET, headers, body, now=NOW)
    with pytest.raises(WebhookVerificationError, match=reason):
        check_webhook(SECRET, headers, body, now=NOW)


def test_wrong_secret_is_rejected() -> None:
    assert not verify_webhook("whsec_other", _headers(), BODY, now=NOW)


@pytest.mark.parametrize(("skew", "ok"), [(0, True), (300, True), (-300, True), (301, False), (-301, False)])
def test_timestamp_tolerance(skew: int, ok: bool) -> None:
    headers = _headers(ts=NOW + skew)
    assert verify_webhook(SECRET, headers, BODY, now=NOW) is ok
    assert verify_webhook(SECRET, headers, BODY, now=NOW, tolerance=1000)


def test_one_valid_signature_among_several_is_enough() -> None:
    good = _headers()["webhook-signature"]
    headers = _headers() | {"webhook-signature": f"v3,{'1' * 64} {good}"}
    assert verify_webhook(SECRET, headers, BODY, now=NOW)


def test_empty_secret_is_a_configuration_error_not_a_rejection() -> None:
    with pytest.raises(ValueError, match="secret is empty"):
        verify_webhook("", _headers(), BODY, now=NOW)


def test_constant_time_compare_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("reconciler.providers.wavespeed.webhooks.hmac.compare_digest", spy)
    assert verify_webhook(SECRET, _headers(), BODY, now=NOW)
    assert calls
