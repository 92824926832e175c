"""`--update-golden`: rewrite the expected plan outputs instead of comparing with them."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/<case>/plan.{txt,json,md} from the current planner and renderers",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    # default=False: when this conftest is not an initial one (pytest run from the root without
    # a path), the option is not registered and the tests compare.
    return bool(request.config.getoption("--update-golden", default=False))
