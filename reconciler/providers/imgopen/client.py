"""`ImgOpenClient`: the two ImgOpen training endpoints the reconciler needs (providers.md §3).

It speaks HTTP and nothing else: no polling, no state, no choice of taskId (see `task_ids.py`).
Each method makes exactly the requests it names, plus the retries the policy allows.

- `submit_training` → `POST /AIGCImgOpenServ/saas/modelTraining/submitTraining/Job`, camelCase
  body. The client-chosen `taskId` is "required and unique", so it is an idempotency key: the
  submit is retried like a read (`Retry.IDEMPOTENT`). A re-sent submit that finds its taskId
  taken comes back as `SubmitResult(already_existed=True)`, not as an error. If every attempt
  fails in a way that may have reached the server, the outcome is unknown and
  `OutcomeUnknownError` is raised: look the taskId up before doing anything else.
- `query_result` → the training-result query, whose path and shapes are an inference kept in
  `result_endpoint.py` (providers.md §3.2). An unknown taskId raises `NotFoundError`.

Credentials travel in `X-Request-req-accessKeyId` / `X-Request-req-accessKeySecret` (both sent
on every request). They are held by a private auth object and never appear in a repr, a log line
or an error message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import httpx

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.providers.base_client import HeaderAuth, ProviderClient
from reconciler.providers.errors import OutcomeUnknownError, TemporaryError, TransportError
from reconciler.providers.http import Retry, RetryPolicy, stream_download
from reconciler.providers.imgopen import result_endpoint
from reconciler.providers.imgopen.envelopes import (
    PROVIDER,
    DuplicateTaskError,
    TaskMatcher,
    envelope_code,
    envelope_message,
    error_from_response,
    is_success,
    json_body,
    malformed_response,
)
from reconciler.providers.imgopen.types import (
    DECIMAL_STRING_FIELDS,
    MAX_IMAGES,
    MIN_IMAGES,
    TRAINING_FIELDS,
    SubmitResult,
    TrainingResult,
)

log = logging.getLogger("reconciler.providers.imgopen")

T = TypeVar("T")

API_ROOT = "/AIGCImgOpenServ"
SUBMIT_PATH = f"{API_ROOT}/saas/modelTraining/submitTraining/Job"
ACCESS_KEY_ID_HEADER = "X-Request-req-accessKeyId"
ACCESS_KEY_SECRET_HEADER = "X-Request-req-accessKeySecret"

# 429 and 503 are refusals: the server did not act. Anything else temporary may have reached it.
_REFUSED_STATUSES = frozenset({429, 503})


def access_key_auth(access_key_id: str, access_key_secret: str) -> HeaderAuth:
    """Both credential headers on every request (providers.md §3)."""
    return HeaderAuth(
        {ACCESS_KEY_ID_HEADER: access_key_id, ACCESS_KEY_SECRET_HEADER: access_key_secret},
        secrets=(access_key_id, access_key_secret),
        shown="access_key_id=***, access_key_secret=***",
    )


def decimal_string(value: Any, what: str) -> str:
    """1e-5, '1e-05' and '0.00001' → '0.00001': the API takes rates as strings to keep precision."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number or a numeric string (got {value!r})")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what} must be a number or a numeric string (got {value!r})") from None
    if not number.is_finite():
        raise ValueError(f"{what} must be finite (got {value!r})")
    return format(number.normalize(), "f")


def submit_body(task_id: str, file_urls: Sequence[str], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The camelCase submit body; ValueError for what the API would refuse anyway."""
    if not isinstance(task_id, str) or not task_id.strip():
        raise ValueError("taskId must be a non-empty string")
    urls = list(file_urls)
    if not all(isinstance(u, str) and u for u in urls):
        raise ValueError("fileUrlList must be a list of URLs")
    if not MIN_IMAGES <= len(urls) <= MAX_IMAGES:
        raise ValueError(f"fileUrlList must hold {MIN_IMAGES}-{MAX_IMAGES} image URLs (got {len(urls)})")
    unknown = sorted(set(fields) - set(TRAINING_FIELDS))
    if unknown:
        raise ValueError(
            f"unknown training field(s) {', '.join(unknown)}; ImgOpen takes the camelCase names "
            f"of its field table ({', '.join(TRAINING_FIELDS[:4])}, …)"
        )
    body: dict[str, Any] = {"taskId": task_id, "fileUrlList": urls}
    for name in TRAINING_FIELDS:  # the documented order, for readable request logs
        if name in fields and fields[name] is not None:
            value = fields[name]
            body[name] = decimal_string(value, name) if name in DECIMAL_STRING_FIELDS else value
    return body


def _may_have_reached_server(exc: TemporaryError) -> bool:
    if isinstance(exc, TransportError):
        return exc.maybe_committed
    return exc.status not in _REFUSED_STATUSES


class ImgOpenClient(ProviderClient):
    PROVIDER = PROVIDER
    API_ROOTS = (API_ROOT,)
    USER_AGENT = "reconciler-imgopen/0.1"
    log = log

    def __init__(
        self,
        base_url: str,
        access_key_id: str,
        access_key_secret: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        auth = access_key_auth(
            self.require(access_key_id, "ImgOpen access key id"),
            self.require(access_key_secret, "ImgOpen access key secret"),
        )
        super().__init__(base_url, auth, transport=transport, timeout=timeout, retry=retry, clock=clock)

    def __repr__(self) -> str:
        return f"ImgOpenClient(base_url={self.base_url!r}, access_key_id=***, access_key_secret=***)"

    def download(self, url: str, destination: str | Path) -> tuple[int, str]:
        """Stream a LoRA file to `destination`, without the access keys; returns (bytes, sha256 hex)."""
        secrets = self.secrets
        return stream_download(
            self._http,
            url,
            destination,
            provider=PROVIDER,
            secrets=secrets,
            policy=self._retry,
            clock=self._clock,
            timeout=self._http.timeout,
            on_error=lambda r: error_from_response(
                r, operation="download", now=self._clock.now(), secrets=secrets
            ),
        )

    # --- plumbing --------------------------------------------------------------------------------

    def _post(
        self,
        path: str,
        body: dict[str, Any],
        *,
        operation: str,
        parse: Callable[[dict[str, Any]], T],
        expected: str,
        unknown_task: TaskMatcher | None = None,
    ) -> T:
        secrets = self.secrets

        def attempt() -> T:
            response = self._request("POST", path, operation=operation, json=body)
            payload = json_body(response)
            if response.status_code < 300 and envelope_code(payload) is None:
                raise malformed_response(response, operation=operation, expected=expected, secrets=secrets)
            if not is_success(response, payload):
                raise error_from_response(
                    response,
                    operation=operation,
                    now=self._clock.now(),
                    secrets=secrets,
                    unknown_task=unknown_task,
                )
            try:
                return parse(payload)
            except (KeyError, TypeError, ValueError) as exc:
                error = malformed_response(response, operation=operation, expected=expected, secrets=secrets)
                error.message = f"{error.message} ({exc})"
                error.args = (error.message,)
                raise error from exc

        return self._with_retries(attempt, retry=Retry.IDEMPOTENT)

    # --- endpoints -------------------------------------------------------------------------------

    def submit_training(
        self, task_id: str, file_urls: Sequence[str], fields: Mapping[str, Any]
    ) -> SubmitResult:
        """Submit a training task; `fields` are the optional camelCase training fields."""
        body = submit_body(task_id, file_urls, fields)
        try:
            code, message = self._post(
                SUBMIT_PATH,
                body,
                operation="submit_training",
                parse=lambda b: (envelope_code(b) or "", envelope_message(b) or ""),
                expected='{"code": "200", "msg": ...}',
            )
        except DuplicateTaskError as exc:
            return SubmitResult(
                task_id=task_id, already_existed=True, code=exc.code or "", message=exc.message
            )
        except TemporaryError as exc:
            if _may_have_reached_server(exc):
                raise OutcomeUnknownError(
                    f"the submit of taskId {task_id} may or may not have been accepted ({exc.message}); "
                    "query the taskId before submitting again",
                    cause=exc,
                ) from exc
            raise
        return SubmitResult(task_id=task_id, already_existed=False, code=code, message=message)

    def query_result(self, task_id: str) -> TrainingResult:
        """The task's status and LoRA URL (inferred endpoint, see `result_endpoint`).

        Raises `NotFoundError` when ImgOpen knows no task with this id.
        """
        if not isinstance(task_id, str) or not task_id.strip():
            raise ValueError("taskId must be a non-empty string")
        return self._post(
            result_endpoint.RESULT_PATH,
            result_endpoint.result_request(task_id),
            operation="query_result",
            parse=lambda b: result_endpoint.parse_result(task_id, b.get("data")),
            expected='{"code": "200", "data": {"taskId", "status", "loraUrl"?}}',
            unknown_task=result_endpoint.is_unknown_task,
        )


__all__ = [
    "ACCESS_KEY_ID_HEADER",
    "ACCESS_KEY_SECRET_HEADER",
    "API_ROOT",
    "SUBMIT_PATH",
    "ImgOpenClient",
    "decimal_string",
    "submit_body",
]
