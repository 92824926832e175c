"""Fixtures for running the CI kit's own steps: a project repository, a forge, a fake pip."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ci_forge import Forge, serve  # noqa: E402
from ci_helpers import REPO  # noqa: E402


@pytest.fixture
def forge() -> Iterator[tuple[Forge, str]]:
    state = Forge()
    # someone else's comments first: more than one page, so finding ours needs paging
    state.comments = [{"id": i, "body": f"review comment {i}"} for i in range(1, 121)]
    server, url = serve(state)
    yield state, url
    server.shutdown()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(REPO / "manifests" / "project", dest, ignore=shutil.ignore_patterns(".reconciler"))
    return dest


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """`pip` that records what it was asked to install (the test runs on an installed reconciler)."""
    fake = tmp_path / "fakebin"
    fake.mkdir()
    pip = fake / "pip"
    pip.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/pip-calls"\n')
    pip.chmod(0o755)
    return fake
