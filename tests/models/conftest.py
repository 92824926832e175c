from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from reconciler.models.messages import humanize_all

ErrorsOf = Callable[[type[BaseModel], dict[str, Any]], list[tuple[str, str]]]


@pytest.fixture
def errors_of() -> ErrorsOf:
    """Validate `data` with `model`; return the humanized (path, message) pairs ([] when valid)."""

    def run(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[str, str]]:
        try:
            model.model_validate(data)
        except ValidationError as exc:
            return humanize_all(exc, model)
        return []

    return run
