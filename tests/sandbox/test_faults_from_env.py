"""`faults_from_env`: no variable gives the defaults (made without validation), a bad one a clear error."""

from __future__ import annotations

import pytest

from reconciler.models.faults import FaultConfig
from reconciler.sandbox.sandbox import FAULTS_ENV, faults_from_env


def test_no_variable_gives_the_validated_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    got = faults_from_env()
    assert got == FaultConfig()
    assert got.model_dump() == FaultConfig().model_dump()
    got.rules.append("x")  # type: ignore[arg-type]  # its own list: nothing shared with the next
    assert faults_from_env().rules == []


def test_a_set_variable_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULTS_ENV, '{"fail_jobs": 0.5, "seed": 3}')
    assert faults_from_env() == FaultConfig(fail_jobs=0.5, seed=3)
    monkeypatch.setenv(FAULTS_ENV, '{"fail_jobs": 2}')
    with pytest.raises(ValueError, match=FAULTS_ENV):
        faults_from_env()
