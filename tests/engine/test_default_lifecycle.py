"""The planner's default lifecycle is made without validation (start-up): it must be `Lifecycle()`."""

from __future__ import annotations

import subprocess
import sys

from reconciler.engine import planning
from reconciler.models.envelope import Lifecycle


def test_the_default_lifecycle_equals_a_validated_one_and_its_dump() -> None:
    assert Lifecycle() == planning._DEFAULT_LIFECYCLE
    assert Lifecycle().model_dump(mode="json") == planning._DEFAULT_LIFECYCLE_DATA
    assert list(planning._DEFAULT_LIFECYCLE_DATA) == list(Lifecycle().model_dump(mode="json"))


def test_a_declared_default_lifecycle_takes_the_shared_data() -> None:
    assert planning._lifecycle_data(Lifecycle()) is planning._DEFAULT_LIFECYCLE_DATA
    other = Lifecycle(prevent_destroy=True)
    assert planning._lifecycle_data(other) == other.model_dump(mode="json")


def test_importing_the_planner_builds_no_lifecycle_validator() -> None:
    code = (
        "import reconciler.engine.planning\n"
        "from reconciler.models.envelope import Lifecycle, Timeouts\n"
        "print(Lifecycle.__pydantic_complete__, Timeouts.__pydantic_complete__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
