"""Which manifest set a state belongs to (state/ownership.py), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from state_backends import Backend
from state_fixtures import make_record

from reconciler.clock import FakeClock
from reconciler.state.interface import StateError
from reconciler.state.ownership import Owner, check_owner, claim, recorded_owner

DEV = Owner(project="ml-infra", environment="dev")
PROD = Owner(project="ml-infra", environment="prod")


def _check(store, owner: Owner) -> None:
    check_owner(store, owner, location="the state", separate=lambda recorded: "Give it another state.")


def test_the_first_writer_owns_the_state_and_another_is_refused(backend: Backend, clock: FakeClock) -> None:
    with backend.open(clock=clock) as store:
        _check(store, DEV)
        store.put(make_record(), event="create")
        serial = store.meta().serial
    with backend.open(clock=clock) as store:
        assert recorded_owner(store) == DEV
        assert store.meta().serial == serial  # recording the owner does not invalidate saved plans
        _check(store, DEV)
        with pytest.raises(
            StateError, match="belongs to environment 'dev' of project ml-infra, not to environment 'prod'"
        ):
            _check(store, PROD)
    with (
        backend.open(readonly=True, clock=clock) as store,  # a plan: refused too, and writes nothing
        pytest.raises(StateError, match="Give it another state."),
    ):
        _check(store, PROD)
    with backend.open(clock=clock) as store:
        claim(store, PROD)  # `reconciler state claim`
        _check(store, PROD)
        with pytest.raises(StateError):
            _check(store, DEV)


def test_a_readonly_check_records_nothing(backend: Backend, clock: FakeClock) -> None:
    with backend.open(clock=clock) as store:
        store.put(make_record(), event="create")
    before = backend.persisted()
    with backend.open(readonly=True, clock=clock) as store:
        _check(store, DEV)
    assert backend.persisted() == before
    with backend.open(clock=clock) as store:
        assert recorded_owner(store) is None


@pytest.mark.parametrize(
    "first, second, compatible",
    [
        (["repo/shared", "repo/envs/dev"], ["repo/shared", "repo/envs/prod"], False),
        (["repo/shared"], ["repo/shared", "repo/extra"], True),  # one set grown
        (["repo/shared", "repo/extra"], ["repo/shared"], True),  # one set shrunk
        (["repo/a"], ["repo/b"], False),
    ],
)
def test_f_sets_that_each_have_a_path_the_other_lacks_are_two_sets(
    first: list[str], second: list[str], compatible: bool
) -> None:
    a, b = Owner(paths=tuple(first)), Owner(paths=tuple(second))
    assert b.compatible(a) is compatible and a.compatible(b) is compatible
    assert not DEV.compatible(a) and not a.compatible(DEV)
    assert Owner.from_dict(a.to_dict()) == a and Owner.from_dict(DEV.to_dict()) == DEV


def test_paths_are_named_as_every_clone_names_them(tmp_path: Path) -> None:
    repo = tmp_path / "ml-infra"
    (repo / ".git").mkdir(parents=True)
    (repo / "shared").mkdir()
    assert Owner.of_paths([repo / "shared", repo / "shared" / "."]).paths == ("ml-infra/shared",)
