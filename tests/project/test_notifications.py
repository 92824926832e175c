"""Webhook notifications from the project file, against a receiver on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.engine.outcomes import ApplyResult, Outcome, ResourceOutcome
from reconciler.engine.progress import SilentProgress
from reconciler.models.plans import Plan
from reconciler.notifications.webhooks import WebhookNotifier

REPO = Path(__file__).resolve().parents[2]
SECRET = "T0KEN-in-the-path"


class Receiver:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.paths.append(self.path)
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{SECRET}"

    def events(self) -> list[tuple[str, str | None]]:
        return [(b["event"], (b.get("resource") or {}).get("address")) for b in self.bodies]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(REPO / "manifests" / "project", dest, ignore=shutil.ignore_patterns(".reconciler"))
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1e9")
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    monkeypatch.delenv("RECONCILER_ENV", raising=False)
    monkeypatch.setenv("RECONCILER_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(dest)
    return dest


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_apply_posts_each_long_job_and_the_end_of_apply(
    project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_WEBHOOK_URL", receiver.url)
    r = run("plan", "--env", "dev")
    assert receiver.bodies == [] and "warning" not in r.output  # a plan notifies nobody
    r = run("apply", "--env", "dev", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert receiver.events() == [
        ("job_finished", "FineTune/money-rain"),
        ("job_finished", "Deployment/money-rain"),
        ("apply_finished", None),
    ]  # the dataset upload is not a long job
    ft, _, end = receiver.bodies
    assert ft["schema"] == "reconciler.notification/1" and ft["environment"] == "dev"
    assert ft["resource"]["outcome"] == "succeeded" and ft["resource"]["action"] == "create"
    assert ft["resource"]["remote_id"].startswith("ft-")  # the job id, from the state
    assert ft["text"].startswith("[dev] FineTune/money-rain create finished")
    assert end["summary"]["ok"] and end["summary"]["succeeded"] == 3 and end["summary"]["failed"] == 0
    assert SECRET not in r.output


def test_a_failed_training_is_posted_as_failed(
    project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv(
        "RECONCILER_SANDBOX_FAULTS", json.dumps({"fail_jobs": 1.0, "fail_message": "GPU fell off the bus"})
    )
    r = run("apply", "--env", "dev", "--auto-approve")
    assert r.exit_code == 1
    assert receiver.events()[0] == ("job_failed", "FineTune/money-rain")
    assert "GPU fell off the bus" in receiver.bodies[0]["resource"]["message"]
    end = receiver.bodies[-1]
    assert end["event"] == "apply_failed" and end["summary"]["failed_resources"] == ["FineTune/money-rain"]
    assert ("job_finished", "Deployment/money-rain") not in receiver.events()  # skipped, not finished


@pytest.mark.parametrize("broken", ["500", "closed port"])
def test_a_failing_webhook_warns_and_never_fails_the_apply(
    project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    if broken == "500":
        receiver.status = 500
        url = receiver.url
    else:
        receiver.server.shutdown()
        receiver.server.server_close()
        url = receiver.url
    monkeypatch.setenv("RECONCILER_WEBHOOK_URL", url)
    r = run("apply", "--env", "dev", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Apply complete: 3 succeeded" in r.output
    assert (
        "warning: notification webhook ($RECONCILER_WEBHOOK_URL) failed for the job_finished event"
        in r.output
    )
    assert SECRET not in r.output and "127.0.0.1" not in r.output
    if broken == "500":
        assert len(receiver.bodies) == 6  # each of the 3 events tried twice (a 5xx is retried once)


def test_an_environment_names_its_own_webhook(
    project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = project / "reconciler.yaml"
    config.write_text(
        config.read_text().replace(
            "    patches: [envs/prod/patches.yaml]\n",
            "    patches: [envs/prod/patches.yaml]\n    notifications: {webhook: {url_env: PROD_HOOK}}\n",
        )
    )
    monkeypatch.setenv("PROD_HOOK", receiver.url)
    monkeypatch.delenv("RECONCILER_WEBHOOK_URL", raising=False)
    r = run("apply", "--env", "dev", "--auto-approve")
    assert r.exit_code == 0
    assert "warning: notifications: $RECONCILER_WEBHOOK_URL is not set; no webhook will be called" in r.output
    assert receiver.bodies == []
    assert run("apply", "--env", "prod", "--auto-approve").exit_code == 0
    assert [b["environment"] for b in receiver.bodies] == ["prod", "prod", "prod"]


def test_a_replace_is_one_notification_and_an_exception_is_apply_failed() -> None:
    calls: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        return httpx.Response(204)

    notifier = WebhookNotifier("https://hooks.example/x", source="$H", transport=httpx.MockTransport(handler))
    sink = notifier.progress(SilentProgress())
    sink.finished(ResourceOutcome("FineTune/a", "replace", Outcome.SUCCEEDED))
    sink.finished(ResourceOutcome("FineTune/a", "replace", Outcome.SUCCEEDED))  # its old object deleted
    sink.finished(ResourceOutcome("Dataset/d", "create", Outcome.SUCCEEDED))
    sink.finished(ResourceOutcome("Deployment/b", "delete", Outcome.SUCCEEDED))
    notifier.apply_finished(
        Plan(reconciler_version="0", created_at=""), ApplyResult(), RuntimeError("state gone")
    )
    assert [c["event"] for c in calls] == ["job_finished", "apply_failed"]
    assert calls[1]["summary"]["error"] == "state gone" and not calls[1]["summary"]["ok"]


def test_an_apply_stopped_by_plan_errors_is_posted_as_failed(
    project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_WEBHOOK_URL", receiver.url)
    assert run("apply", "--env", "dev", "--auto-approve").exit_code == 0
    receiver.bodies.clear()
    (project / "shared" / "money-rain.yaml").write_text(
        (project / "shared" / "money-rain.yaml").read_text() + "  # edited\n"
    )
    # prevent_destroy on the fine-tune, then a retrain: the plan refuses, nothing runs
    patch = project / "envs" / "dev" / "patches.yaml"
    patch.write_text(
        "kind: FineTune\nmetadata: {name: money-rain}\nspec: {hyper_parameters: {n_epochs: 160}}\n"
        "lifecycle: {prevent_destroy: true}\n"
    )
    r = run("apply", "--env", "dev", "--auto-approve")
    assert r.exit_code == 1
    (end,) = receiver.bodies
    assert end["event"] == "apply_failed" and "prevent_destroy" in end["summary"]["error"]


def test_an_http_error_message_never_carries_the_url() -> None:
    warnings: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    url = "https://hooks.example/services/T0/B0?token=s3cr3t"
    notifier = WebhookNotifier(url, source="$H", transport=httpx.MockTransport(handler), warn=warnings.append)
    notifier.apply_finished(Plan(reconciler_version="0", created_at=""), ApplyResult(), None)
    (warning,) = warnings
    assert "ConnectError" in warning and "$H" in warning
    assert "s3cr3t" not in warning and "/services/T0/B0" not in warning and url not in warning
