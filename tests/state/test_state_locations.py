"""Naming a state: a file path or a PostgreSQL URL and workspace; defaults every clone agrees on; no password shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.state.interface import StateError
from reconciler.state.locations import (
    derive_workspace_name,
    is_postgres_url,
    scrub_url,
    state_location,
    url_password,
)


def test_urls_are_recognised_by_scheme() -> None:
    assert is_postgres_url("postgresql://ana@db/x") and is_postgres_url("postgres://db/x")
    assert is_postgres_url("POSTGRESQL://db/x")
    assert (
        not is_postgres_url("state.db") and not is_postgres_url(None) and not is_postgres_url("mysql://db/x")
    )


def test_passwords_are_scrubbed_from_every_form_of_url() -> None:
    assert scrub_url("postgresql://ana:s3cret@db:5432/x") == "postgresql://ana:***@db:5432/x"
    assert (
        scrub_url("postgresql://ana@db/x?password=s3cret&sslmode=require")
        == "postgresql://ana@db/x?password=***&sslmode=require"
    )
    assert scrub_url("postgresql://db/x") == "postgresql://db/x"
    assert url_password("postgresql://ana:s3cret@db/x") == "s3cret"
    assert url_password("postgresql://ana@db/x?password=p2") == "p2"
    assert url_password("postgresql://ana@db/x") is None


def test_a_url_selects_postgresql_and_a_path_sqlite(tmp_path: Path) -> None:
    pg = state_location("postgresql://ana:s3cret@db/x", manifest_root=tmp_path, workspace="team-a/prod")
    assert pg.is_postgresql and pg.workspace == "team-a/prod" and pg.path is None
    assert pg.display == "postgresql://ana:***@db/x (workspace team-a/prod)"
    assert pg.sandbox_db is None  # the sandbox then lives beside the manifests
    file = state_location(str(tmp_path / "s.db"), manifest_root=tmp_path)
    assert not file.is_postgresql and file.path == tmp_path / "s.db"
    assert file.sandbox_db == tmp_path / "sandbox.db"
    default = state_location(None, manifest_root=tmp_path)
    assert default.path == tmp_path / ".reconciler" / "state.db"


def test_a_workspace_for_a_state_file_and_other_schemes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="--workspace w applies to a PostgreSQL state"):
        state_location(str(tmp_path / "s.db"), manifest_root=tmp_path, workspace="w")
    with pytest.raises(StateError, match="only postgresql:// URLs or file paths name a state"):
        state_location("mysql://ana:s3cret@db/x", manifest_root=tmp_path)
    try:
        state_location("mysql://ana:s3cret@db/x", manifest_root=tmp_path)
    except StateError as error:
        assert "s3cret" not in str(error)


def test_the_default_workspace_is_the_same_in_every_clone_of_a_repository(tmp_path: Path) -> None:
    for clone in ("laptop", "ci-runner"):
        repo = tmp_path / clone / "ml-infra"
        (repo / ".git").mkdir(parents=True)
        (repo / "manifests" / "prod").mkdir(parents=True)
        assert derive_workspace_name(repo / "manifests" / "prod") == "ml-infra/manifests/prod"
        assert derive_workspace_name(repo) == "ml-infra"
        assert (
            state_location("postgresql://db/x", manifest_root=repo / "manifests" / "prod").workspace
            == "ml-infra/manifests/prod"
        )
    worktree = tmp_path / "wt" / "ml-infra"
    (worktree / "manifests").mkdir(parents=True)
    (worktree / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n")  # a worktree's .git is a file
    assert derive_workspace_name(worktree / "manifests") == "ml-infra/manifests"


def test_outside_a_repository_the_default_workspace_is_the_absolute_path(tmp_path: Path) -> None:
    root = tmp_path / "loose" / "manifests"
    root.mkdir(parents=True)
    assert derive_workspace_name(root) == root.resolve().as_posix()
    manifest = root / "ft.yaml"
    manifest.write_text("")
    assert state_location("postgresql://db/x", manifest_root=manifest).workspace == root.resolve().as_posix()
