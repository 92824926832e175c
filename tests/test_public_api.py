"""The package root re-exports the Python API (`__all__` is tested, like httpx's)."""

from __future__ import annotations

import reconciler


def test_all_names_resolve():
    for name in reconciler.__all__:
        assert getattr(reconciler, name) is not None, name


def test_workspace_is_the_api_the_cli_wraps():
    from reconciler.workspace import Workspace

    assert reconciler.Workspace is Workspace
    for method in (
        "plan",
        "apply",
        "refresh",
        "import_resource",
        "records",
        "state_rm",
        "outputs",
        "download_outputs",
    ):
        assert callable(getattr(Workspace, method)), method


def test_time_scale_from_the_provider_manifest_reaches_the_sandbox(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Provider\nmetadata: {name: ds}\n"
        "spec: {type: dashscope, endpoint: sandbox, sandbox: {time_scale: 1234}}\n"
    )
    ws = reconciler.Workspace([tmp_path])
    ws.adapters()
    assert ws.wiring.sandbox_instance().time_scale == 1234
