"""The provider conformance suite: what every provider plugin must do against its emulator.

After terraform's `statemgr.TestFull`: one set of tests, and each provider's own test module runs
it by importing these tests and defining a `kit` fixture (a `Kit`: its Provider manifest and a
chain of resources, with the variants that must not be taken for them). The adapter is always
built the way a run builds it: `plugin_for(type).build_adapter(config, connection)`, through the
`reconciler.providers` entry point, against the embedded sandbox in `documented` fidelity.

What it checks, per resource of the chain:
- CRUD: create, observe until settled (READY), `read_many` agrees, delete in reverse order
  (or, where the provider has no delete API, its facts say so), and a deleted object reads GONE;
- adoption: `discover` with no state finds the object create made (where the provider documents a
  way to find it again), and never an object another resource already claimed;
- fingerprints that must NOT match: a different hyper-parameter, file id or dataset URL is never
  adopted, by `discover` or by `find`;
- error mapping: an unknown id reads GONE; a server that fails every request raises a retryable
  `TemporaryError` (never a raw httpx error);
- no secret in any repr: adapter, client, observations and errors never show the credential.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.models.resources import ProviderConfig
from reconciler.models.state import ResourceRecord
from reconciler.providers.errors import ProviderError, TemporaryError
from reconciler.providers.interface import Desired, Observation, Phase, ProviderAdapter
from reconciler.providers.plugins import Connection, ProviderPlugin, plugin_for
from reconciler.sandbox import Sandbox

SECRET = "sk-conformance-7d1f3a9c0b2e4d68"
Inputs = Mapping[str, Mapping[str, Any]]  # upstream address -> its outputs


@dataclass
class Step:
    """One resource of the chain. `build(inputs)` is its Desired; `mismatches(inputs)` are Desireds
    that differ in one fingerprinted field (label -> Desired) and must never adopt its object."""

    kind: str
    build: Callable[[Inputs], Desired]
    mismatches: Callable[[Inputs], dict[str, Desired]] = lambda inputs: {}
    adoptable: bool = True  # False where the provider documents no way to find the object again
    # False where there is no provider object to claim (a dataset that is a URL list or one URL)
    claimable: bool = True
    # False where the documents show too little for `find` (after an ambiguous create, in the time
    # window the journal gives) to tell this create from another (WaveSpeed's history: no inputs)
    find_compares_inputs: bool = True


@dataclass
class Kit:
    provider_type: str
    config: ProviderConfig
    chain: list[Step]
    settle_step_s: float = 5.0  # fake-clock seconds between reads while waiting for READY
    credentials: tuple[str, ...] = ("api_key",)
    extra: dict[str, Any] = field(default_factory=dict)


class World:
    def __init__(self, kit: Kit, sandbox: Sandbox, clock: FakeClock) -> None:
        self.kit, self.sandbox, self.clock = kit, sandbox, clock
        plugin = plugin_for(kit.provider_type)
        assert isinstance(plugin, ProviderPlugin), f"no plugin registered for {kit.provider_type}"
        self.plugin = plugin
        self.adapter = self.build()

    def build(self, faults: FaultConfig | None = None) -> ProviderAdapter:
        connection = Connection(
            base_url="http://127.0.0.1",
            credential=lambda role: SECRET,
            transport=self.sandbox.transport(faults=faults, fidelity="documented"),
            clock=self.clock,
        )
        return self.plugin.build_adapter(self.kit.config, connection)

    def record(self, desired: Desired, obs: Observation) -> ResourceRecord:
        return ResourceRecord(
            address=desired.address,
            kind=desired.kind,
            name=desired.name,
            provider=self.kit.config.name,
            provider_type=self.kit.provider_type,
            remote_id=obs.remote_id,
            spec=dict(desired.spec),
            spec_hash=desired.spec_hash,
            content_digest=desired.content_digest,
            status=obs.status,
            observed=dict(obs.object),
            outputs=dict(obs.outputs),
        )

    def settle(self, record: ResourceRecord) -> Observation:
        for _ in range(2000):
            obs = self.adapter.read(record)
            if obs.phase is not Phase.PENDING:
                return obs
            self.clock.advance(self.kit.settle_step_s)
        raise AssertionError(f"{record.address} never settled")

    def create_chain(self) -> list[tuple[Step, Desired, ResourceRecord, Observation]]:
        inputs: dict[str, Mapping[str, Any]] = {}
        made = []
        for step in self.kit.chain:
            desired = step.build(inputs)
            created = self.adapter.create(desired, set())
            record = self.record(desired, created)
            settled = self.settle(record)
            record = self.record(desired, settled)
            inputs[desired.address] = dict(settled.outputs)
            made.append((step, desired, record, settled))
        return made

    def inputs_of(self, made: list[tuple[Step, Desired, ResourceRecord, Observation]]) -> dict[str, Any]:
        return {d.address: dict(obs.outputs) for _, d, _, obs in made}


@pytest.fixture
def world(kit: Kit) -> Iterator[World]:
    clock = FakeClock()
    sandbox = Sandbox(clock=clock)
    try:
        yield World(kit, sandbox, clock)
    finally:
        sandbox.close()


def test_conformance_crud_in_dependency_order(world: World) -> None:
    made = world.create_chain()
    for _, desired, _, obs in made:
        assert obs.phase is Phase.READY, (desired.address, obs.status, obs.message)
        assert obs.remote_id
    seen = world.adapter.read_many([record for _, _, record, _ in made])
    assert {a: o.remote_id for a, o in seen.items()} == {r.address: r.remote_id for _, _, r, _ in made}
    for _, desired, record, _ in reversed(made):
        if world.plugin.facts.no_delete_api(desired.kind):
            continue  # removing it only forgets it: nothing to call
        going = world.adapter.delete(record)
        if going is not None:
            assert going.phase is Phase.DELETING
            world.settle(record)
        assert world.adapter.read(record).phase is Phase.GONE, desired.address


def test_conformance_adoption_finds_ours_and_never_a_claimed_object(world: World) -> None:
    made = world.create_chain()
    inputs = world.inputs_of(made)
    for step, desired, record, _ in made:
        again = step.build(inputs)
        found = world.adapter.discover([again], set()).get(again.address)
        if step.adoptable:
            assert found is not None and found.remote_id == record.remote_id, desired.address
        if step.claimable:
            claimed = {record.remote_id or ""}
            taken = world.adapter.discover([again], claimed).get(again.address)
            assert taken is None or taken.remote_id not in claimed, desired.address


def test_conformance_fingerprints_that_differ_are_never_adopted(world: World) -> None:
    made = world.create_chain()
    inputs = world.inputs_of(made)
    checked = 0
    for step, desired, record, _ in made:
        for label, other in step.mismatches(inputs).items():
            found = world.adapter.discover([other], set()).get(other.address)
            assert found is None or found.remote_id != record.remote_id, (desired.address, label)
            if step.find_compares_inputs:
                looked = world.adapter.find(other, 0.0, set())
                assert looked is None or looked.remote_id != record.remote_id, (desired.address, label)
            checked += 1
    assert checked, "the kit names no fingerprint variant: the suite would test nothing"


def test_conformance_error_mapping(world: World) -> None:
    last = world.kit.chain[-1]  # the job: a real provider object, created by a request
    desired = last.build({})
    unknown = world.record(desired, Observation(remote_id=_unknown_id(world), phase=Phase.READY, status=""))
    assert world.adapter.read(unknown).phase is Phase.GONE
    failing = world.build(FaultConfig(rules=[FaultRule(match="*", rate_5xx=1.0)]))
    with pytest.raises(ProviderError) as caught:
        failing.create(desired, set())
    assert isinstance(caught.value, TemporaryError) and caught.value.retryable
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)


def test_conformance_no_secret_in_any_repr(world: World) -> None:
    made = world.create_chain()
    texts = [repr(world.adapter), repr(vars(world.adapter))]
    for value in vars(world.adapter).values():
        texts.append(repr(value))
        texts.extend(repr(v) for v in getattr(value, "__dict__", {}).values())
    for _, desired, record, obs in made:
        texts += [repr(desired), repr(record), repr(obs), repr(world.adapter.fingerprint(desired))]
    leaked = [t for t in texts if SECRET in t]
    assert not leaked, leaked[:1]


def _unknown_id(world: World) -> str:
    return str(world.kit.extra.get("unknown_id", "does-not-exist-0000"))
