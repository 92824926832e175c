"""The local trainer's HTTP client: the base client plus its paths and its error envelope."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.providers.base_client import ProviderClient, bearer_auth
from reconciler.providers.errors import redact
from reconciler.providers.http import Retry, RetryPolicy, error_class_for_status, json_body

API = "/local/v1"


class LocalTrainerClient(ProviderClient):
    PROVIDER = "localtrainer"
    API_ROOTS = (API,)
    USER_AGENT = "reconciler-localtrainer/0.1"
    log = logging.getLogger("tests.localtrainer")

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        auth = bearer_auth(self.require(api_key, "local trainer API key"))
        super().__init__(base_url, auth, transport=transport, retry=retry, clock=clock)

    def __repr__(self) -> str:
        return f"LocalTrainerClient(base_url={self.base_url!r}, api_key=***)"

    def call(self, method: str, path: str, *, operation: str, retry: Retry, json: Any = None) -> Any:
        def attempt() -> Any:
            response = self._request(method, API + path, operation=operation, json=json)
            body = json_body(response) if response.content else None
            if response.status_code >= 400:
                error = (body or {}).get("error") or {} if isinstance(body, dict) else {}
                raise error_class_for_status(response.status_code)(
                    redact(str(error.get("message") or response.reason_phrase), *self.secrets),
                    status=response.status_code,
                    code=error.get("code"),
                    provider=self.PROVIDER,
                    operation=operation,
                )
            return body

        return self._with_retries(attempt, retry=retry)
