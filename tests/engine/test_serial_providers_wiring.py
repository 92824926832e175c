"""Which providers the executor runs one step at a time: the embedded sandbox, and only while it
injects no faults (a latency or timeout fault makes a call wait, which parallel workers overlap)."""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.sandbox import Sandbox
from reconciler.wiring import WiringContext, serial_providers
from reconciler.workspace import Workspace

PROVIDERS = """\
apiVersion: reconciler/v1
kind: Provider
metadata: {name: quiet}
spec: {type: dashscope, endpoint: sandbox}
---
apiVersion: reconciler/v1
kind: Provider
metadata: {name: faulty}
spec:
  type: dashscope
  endpoint: sandbox
  sandbox:
    faults:
      rules: [{match: "POST /api/v1/fine-tunes", latency_ms: 100}]
---
apiVersion: reconciler/v1
kind: Provider
metadata: {name: real}
spec: {type: dashscope, endpoint: "https://dashscope-intl.aliyuncs.com", api_key_env: DASHSCOPE_API_KEY}
"""


def _workspace(tmp_path: Path, wiring: WiringContext) -> Workspace:
    (tmp_path / "providers.yaml").write_text(PROVIDERS)
    return Workspace([tmp_path], wiring=wiring, allow_empty=True)


def test_only_the_quiet_embedded_sandbox_is_serial(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, WiringContext(env={}))
    assert serial_providers(ws.manifests.providers, ws.wiring) == frozenset({"quiet"})


def test_a_transport_given_for_a_provider_keeps_it_parallel(tmp_path: Path) -> None:
    with Sandbox() as sandbox:
        wiring = WiringContext(env={}, sandbox=sandbox, transports={"quiet": sandbox.transport()})
        ws = _workspace(tmp_path, wiring)
        assert isinstance(wiring.transports["quiet"], httpx.BaseTransport)
        assert serial_providers(ws.manifests.providers, ws.wiring) == frozenset()


def test_a_sandbox_with_faults_of_its_own_keeps_every_provider_parallel(tmp_path: Path) -> None:
    faults = FaultConfig(rules=[FaultRule(match="GET /api/v1/fine-tunes/{job_id}", rate_timeout=0.5)])
    with Sandbox(faults=faults) as sandbox:
        ws = _workspace(tmp_path, WiringContext(env={}, sandbox=sandbox))
        assert serial_providers(ws.manifests.providers, ws.wiring) == frozenset()
