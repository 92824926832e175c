"""WaveSpeedClient against a scripted server: paths, bodies, envelopes, retries, uploads, secrets."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from wavespeed_fakes import API_KEY, BASE, ScriptedServer, envelope, failure, prediction

from reconciler.clock import FakeClock
from reconciler.providers.errors import (
    AuthError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
)
from reconciler.providers.wavespeed import TrainerInputs, WaveSpeedClient

SUBMIT = "/api/v3/wavespeed-ai/wan-2.2-image-lora-trainer"
RESULT = "/api/v3/predictions/p1/result"
TICKET = "/api/v3/media/uploads"
SIMPLE = "/api/v3/upload"
LEGACY = "/api/v3/media/upload/binary"
PUT_URL = "https://storage.example/bucket/obj?X-Sig=abc"
INPUTS = TrainerInputs(
    data="https://cdn.example/ds.zip", trigger_word="p3r5on", steps=1000, learning_rate=0.0002, lora_rank=32
)


@pytest.fixture
def zip_file(tmp_path: Path) -> Path:
    path = tmp_path / "ds.zip"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 1000)
    return path


# --- base URL and secrets ---------------------------------------------------------------------
def test_base_url_accepts_api_suffix_and_refuses_clear_text_remote() -> None:
    assert WaveSpeedClient("https://api.wavespeed.ai/api/v3/", "k").base_url == "https://api.wavespeed.ai"
    assert WaveSpeedClient("http://127.0.0.1:8080", "k").base_url == "http://127.0.0.1:8080"
    with pytest.raises(ConfigurationError, match="clear-text"):
        WaveSpeedClient("http://api.wavespeed.ai", "k")
    with pytest.raises(ValueError, match="API key is empty"):
        WaveSpeedClient(BASE, " ")


def test_key_never_in_repr_or_errors(client: WaveSpeedClient, server: ScriptedServer) -> None:
    assert API_KEY not in repr(client)
    server.on("GET", RESULT, failure(401, f"invalid key {API_KEY} (Bearer {API_KEY})"))
    with pytest.raises(AuthError) as info:
        client.get_result("p1")
    text = f"{info.value} {info.value!r} {info.value.args}"
    assert API_KEY not in text
    assert "first top-up" in str(info.value)
    assert server.sent[0].headers["authorization"] == f"Bearer {API_KEY}"


# --- submit -----------------------------------------------------------------------------------
def test_submit_posts_flat_inputs_to_the_trainer_path(
    client: WaveSpeedClient, server: ScriptedServer
) -> None:
    server.on("POST", SUBMIT, envelope(prediction()))
    p = client.submit_trainer("wan-2.2-image-lora-trainer", INPUTS, webhook="https://hooks.example/ws")
    assert p.id == "p1" and p.status == "created"
    sent = server.sent[0]
    assert sent.json() == {
        "data": "https://cdn.example/ds.zip",
        "trigger_word": "p3r5on",
        "steps": 1000,
        "learning_rate": 0.0002,
        "lora_rank": 32,
    }
    assert sent.url.params["webhook"] == "https://hooks.example/ws"


@pytest.mark.parametrize(
    "trainer",
    [
        "wan-2.2-image-lora-trainer",
        "wan-2.2-i2v-lora-trainer",
        "qwen-image-lora-trainer",
        "flux-dev-lora-trainer",
        "flux-dev-lora-trainer-turbo",
        "wan-2.1-14b-lora-trainer",
    ],
)
def test_every_trainer_has_its_path(client: WaveSpeedClient, server: ScriptedServer, trainer: str) -> None:
    server.on("POST", f"/api/v3/wavespeed-ai/{trainer}", envelope(prediction()))
    client.submit_trainer(trainer, INPUTS)
    assert server.sent[0].path == f"/api/v3/wavespeed-ai/{trainer}"


def test_empty_trigger_word_is_sent(client: WaveSpeedClient, server: ScriptedServer) -> None:
    server.on("POST", SUBMIT, envelope(prediction()))
    client.submit_trainer(
        "wan-2.2-image-lora-trainer", TrainerInputs(data="https://x/y.zip", trigger_word="")
    )
    assert server.sent[0].json() == {"data": "https://x/y.zip", "trigger_word": ""}


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
)
def test_submit_is_never_resent_after_an_ambiguous_send(
    client: WaveSpeedClient, server: ScriptedServer, clock: FakeClock, error: Exception
) -> None:
    server.on("POST", SUBMIT, error, envelope(prediction()))
    start = clock.now()
    with pytest.raises(OutcomeUnknownError, match="look the object up"):
        client.submit_trainer("wan-2.2-image-lora-trainer", INPUTS)
    assert server.count("POST", SUBMIT) == 1
    assert clock.now() == start


@pytest.mark.parametrize("status", [500, 502, 504])
def test_submit_after_a_server_error_is_outcome_unknown(
    client: WaveSpeedClient, server: ScriptedServer, status: int
) -> None:
    server.on("POST", SUBMIT, failure(status, "upstream"), envelope(prediction()))
    with pytest.raises(OutcomeUnknownError):
        client.submit_trainer("wan-2.2-image-lora-trainer", INPUTS)
    assert server.count("POST", SUBMIT) == 1


def test_submit_429_answer_is_retried_with_backoff(
    client: WaveSpeedClient, server: ScriptedServer, clock: FakeClock
) -> None:
    server.on(
        "POST",
        SUBMIT,
        failure(429, "Too Many Requests"),
        failure(429, "Too Many Requests"),
        envelope(prediction()),
    )
    start = clock.now()
    assert client.submit_trainer("wan-2.2-image-lora-trainer", INPUTS).id == "p1"
    assert server.count("POST", SUBMIT) == 3
    assert clock.now() - start >= 0.5 + 1.0  # exponential backoff on the fake clock


def test_submit_429_gives_up_with_a_clear_message(client: WaveSpeedClient, server: ScriptedServer) -> None:
    server.on("POST", SUBMIT, failure(429, "Too Many Requests"))
    with pytest.raises(RateLimitedError, match="concurrent tasks"):
        client.submit_trainer("wan-2.2-image-lora-trainer", INPUTS)
    assert server.count("POST", SUBMIT) == 5


def test_submit_connect_error_is_retried(client: WaveSpeedClient, server: ScriptedServer) -> None:
    server.on("POST", SUBMIT, httpx.ConnectError("refused"), envelope(prediction()))
    assert client.submit_trainer("wan-2.2-image-lora-trainer", INPUTS).id == "p1"
    assert server.count("POST", SUBMIT) == 2


# --- envelope errors --------------------------------------------------------------------------
def test_http_200_with_an_error_code_is_an_error(client: WaveSpeedClient, server: ScriptedServer) -> None:
    server.on(
        "POST",
        SUBMIT,
        httpx.Response(200, json={"code": 400, "message": "steps must be >= 1000", "data": None}),
    )
    with pytest.raises(InvalidRequestError, match="steps must be >= 1000") as info:
        client.submit_trainer("wan-2.2-image-lora-trainer", INPUTS)
    assert info.value.code == "400"
    assert server.count("POST", SUBMIT) == 1


@pytest.mark.parametrize("key", ["error", "detail"])
def test_message_is_read_from_error_or_detail(
    client: WaveSpeedClient, server: ScriptedServer, key: str
) -> None:
    server.on("GET", RESULT, failure(400, "bad prediction id", key=key))
    with pytest.raises(InvalidRequestError, match="bad prediction id"):
        client.get_result("p1")


def test_not_found_and_malformed_bodies(client: WaveSpeedClient, server: ScriptedServer) -> None:
    server.on("GET", RESULT, failure(404, "prediction not found"))
    with pytest.raises(NotFoundError):
        client.get_result("p1")
    server.answers.clear()
    server.on("GET", RESULT, httpx.Response(200, text="<html>gateway</html>"))
    with pytest.raises(ServerError, match="unexpected response body"):
        client.get_result("p1")


# --- reads: retried -----------------------------------------------------------------------------
def test_result_is_retried_on_429_5xx_and_resets(
    client: WaveSpeedClient, server: ScriptedServer, clock: FakeClock
) -> None:
    server.on(
        "GET",
        RESULT,
        failure(429, "slow down", **{"Retry-After": "3"}),
        failure(503, "busy"),
        httpx.ReadError("reset"),
        envelope(prediction(status="processing")),
    )
    start = clock.now()
    assert client.get_result("p1").status == "processing"
    assert server.count("GET", RESULT) == 4
    assert clock.now() - start >= 3.0  # Retry-After honoured


def test_result_gives_up_after_the_policy(client: WaveSpeedClient, server: ScriptedServer) -> None:
    server.on("GET", RESULT, failure(500, "boom"))
    with pytest.raises(ServerError):
        client.get_result("p1")
    assert server.count("GET", RESULT) == 5


def test_prediction_id_cannot_change_the_path(client: WaveSpeedClient, server: ScriptedServer) -> None:
    with pytest.raises(ValueError):
        client.get_result("..")
    server.on(
        "GET", "/api/v3/predictions/a/b/result", envelope(prediction("a/b"))
    )  # the fake matches decoded paths
    client.get_result("a/b")
    assert server.sent[0].url.raw_path.startswith(b"/api/v3/predictions/a%2Fb/result")


# --- history and delete -------------------------------------------------------------------------
def test_history_body_filters_and_paging(client: WaveSpeedClient, server: ScriptedServer) -> None:
    pages = [
        envelope({"page": n, "total": 5, "items": [prediction(f"p{n}{i}") for i in range(2 if n < 3 else 1)]})
        for n in (1, 2, 3)
    ]
    server.on("POST", "/api/v3/predictions", *pages)
    ids = [
        p.id
        for p in client.iter_predictions(model="wavespeed-ai/x", created_after=1_767_225_600.0, page_size=2)
    ]
    assert ids == ["p10", "p11", "p20", "p21", "p30"]
    bodies = [s.json() for s in server.sent]
    assert bodies[0] == {
        "page": 1,
        "page_size": 2,
        "model": "wavespeed-ai/x",
        "created_after": "2026-01-01T00:00:00.000Z",
    }
    assert [b["page"] for b in bodies] == [1, 2, 3]


def test_history_without_total_stops_at_a_short_page(client: WaveSpeedClient, server: ScriptedServer) -> None:
    server.on(
        "POST",
        "/api/v3/predictions",
        envelope({"page": 1, "items": [prediction("a"), prediction("b")]}),
        envelope({"page": 2, "items": [prediction("c")]}),
    )
    assert [p.id for p in client.iter_predictions(page_size=2)] == ["a", "b", "c"]
    assert server.count("POST", "/api/v3/predictions") == 2
    with pytest.raises(ValueError):
        client.list_predictions(page_size=101)


def test_delete_sends_ids_in_batches_and_sums_counts(client: WaveSpeedClient, server: ScriptedServer) -> None:
    server.on(
        "POST", "/api/v3/predictions/delete", envelope({"deleted_count": 100}), envelope({"deleted_count": 1})
    )
    assert client.delete_predictions([f"p{i}" for i in range(150)]) == 101
    assert [len(s.json()["ids"]) for s in server.sent] == [100, 50]


# --- uploads ------------------------------------------------------------------------------------
def _ticket(put_url: str = PUT_URL, method: str = "PUT") -> httpx.Response:
    return envelope(
        {
            "upload": {
                "method": method,
                "url": put_url,
                "headers": {"Content-Type": "application/zip", "x-amz-acl": "private"},
            },
            "download_url": "https://cdn.example/media/ds.zip",
        }
    )


def test_ticket_upload_puts_the_bytes_without_the_key(
    client: WaveSpeedClient, server: ScriptedServer, zip_file: Path
) -> None:
    server.on("POST", TICKET, _ticket())
    server.on("PUT", "/bucket/obj", httpx.Response(200))
    media = client.upload_media(zip_file, filename="ds-0123.zip")
    assert (media.url, media.endpoint, media.size) == (
        "https://cdn.example/media/ds.zip",
        "ticket",
        zip_file.stat().st_size,
    )
    ticket, put = server.sent
    assert ticket.json() == {
        "filename": "ds-0123.zip",
        "size": zip_file.stat().st_size,
        "content_type": "application/zip",
    }
    assert put.method == "PUT" and str(put.url) == PUT_URL
    assert "authorization" not in put.headers
    assert put.headers["x-amz-acl"] == "private"
    assert put.headers["content-length"] == str(zip_file.stat().st_size)
    assert "transfer-encoding" not in put.headers
    assert put.body == zip_file.read_bytes()


def test_ticket_put_is_retried_with_the_whole_file(
    client: WaveSpeedClient, server: ScriptedServer, zip_file: Path
) -> None:
    server.on("POST", TICKET, _ticket())
    server.on("PUT", "/bucket/obj", httpx.Response(503), httpx.Response(200))
    client.upload_media(zip_file)
    puts = [s for s in server.sent if s.method == "PUT"]
    assert len(puts) == 2 and all(p.body == zip_file.read_bytes() for p in puts)


def test_ticket_must_say_put(client: WaveSpeedClient, server: ScriptedServer, zip_file: Path) -> None:
    server.on("POST", TICKET, _ticket(method="POST"))
    with pytest.raises(ServerError, match="expected PUT"):
        client.upload_media(zip_file)


def test_falls_back_to_simple_upload_on_404(
    client: WaveSpeedClient, server: ScriptedServer, zip_file: Path
) -> None:
    server.on("POST", TICKET, failure(404, "Not Found"))
    server.on("POST", SIMPLE, envelope({"url": "https://cdn.example/simple.zip"}))
    media = client.upload_media(zip_file, filename="ds.zip")
    assert (media.url, media.endpoint) == ("https://cdn.example/simple.zip", "simple")
    upload = server.sent[-1]
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b'name="file"; filename="ds.zip"' in upload.body
    assert zip_file.read_bytes() in upload.body


def test_falls_back_to_legacy_upload_on_405(
    client: WaveSpeedClient, server: ScriptedServer, zip_file: Path
) -> None:
    server.on("POST", TICKET, failure(405, "Method Not Allowed"))
    server.on("POST", SIMPLE, failure(404, "Not Found"))
    server.on(
        "POST",
        LEGACY,
        envelope(
            {
                "type": "file",
                "download_url": "https://cdn.example/legacy.zip",
                "filename": "ds.zip",
                "size": 1,
            }
        ),
    )
    media = client.upload_media(zip_file)
    assert (media.url, media.endpoint) == ("https://cdn.example/legacy.zip", "legacy-binary")
    assert [s.path for s in server.sent] == [TICKET, SIMPLE, LEGACY]


def test_other_upload_errors_do_not_fall_back(
    client: WaveSpeedClient, server: ScriptedServer, zip_file: Path
) -> None:
    server.on("POST", TICKET, failure(400, "File too large"))
    with pytest.raises(InvalidRequestError, match="File too large"):
        client.upload_media(zip_file)
    assert server.count("POST", SIMPLE) == 0


def test_all_upload_endpoints_missing_raises_the_last(
    client: WaveSpeedClient, server: ScriptedServer, zip_file: Path
) -> None:
    with pytest.raises(NotFoundError):
        client.upload_media(zip_file)
    assert [s.path for s in server.sent] == [TICKET, SIMPLE, LEGACY]


def test_upload_refuses_missing_files_and_clear_text_tickets(
    client: WaveSpeedClient, server: ScriptedServer, zip_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        client.upload_media(tmp_path / "absent.zip")
    server.on("POST", TICKET, _ticket(put_url="http://storage.example/obj"))
    with pytest.raises(ConfigurationError, match="clear-text"):
        client.upload_media(zip_file)


def test_upload_streams_from_disk(
    client: WaveSpeedClient, server: ScriptedServer, zip_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is read in chunks (never with a bare read())."""
    sizes: list[int] = []
    real_open = open

    def spy_open(path, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        handle = real_open(path, mode, *args, **kwargs)
        if str(path) == str(zip_file):
            read = handle.read

            def tracked(n: int = -1) -> bytes:
                sizes.append(n)
                return read(n)

            handle.read = tracked  # type: ignore[method-assign]
        return handle

    monkeypatch.setattr("builtins.open", spy_open)
    server.on("POST", TICKET, _ticket())
    server.on("PUT", "/bucket/obj", httpx.Response(200))
    client.upload_media(zip_file)
    assert sizes and all(0 < n <= 1 << 16 for n in sizes)


# --- downloads ----------------------------------------------------------------------------------
def test_download_streams_to_disk_with_sha256(
    client: WaveSpeedClient, server: ScriptedServer, tmp_path: Path
) -> None:
    payload = b"safetensors" * 5000
    server.on("GET", "/out/x_lora.safetensors", httpx.Response(200, content=payload))
    size, digest = client.download(
        "https://cdn.example/out/x_lora.safetensors", tmp_path / "d" / "x.safetensors"
    )
    assert size == len(payload) and digest == hashlib.sha256(payload).hexdigest()
    assert (tmp_path / "d" / "x.safetensors").read_bytes() == payload
    assert "authorization" not in server.sent[0].headers


def test_download_of_an_expired_url_leaves_no_file(
    client: WaveSpeedClient, server: ScriptedServer, tmp_path: Path
) -> None:
    server.on("GET", "/out/gone.safetensors", httpx.Response(404, text="<Error>NoSuchKey</Error>"))
    with pytest.raises(NotFoundError):
        client.download("https://cdn.example/out/gone.safetensors", tmp_path / "gone.safetensors")
    assert list(tmp_path.iterdir()) == []
