"""The crash matrix: which example each provider runs, and the scenarios it is crashed in.

Why here, as data: every scenario is "prepare a state, then one crashing step, then recover", and
only the preparation (an apply and an edit), the step's arguments and the expected outcome
differ. Keeping them in one table makes the matrix — and what does not apply, and why — readable
at a glance.

What does not apply:
- redeploy (both variants) on WaveSpeed and ImgOpen: neither has a Deployment kind (DESIGN.md §2).
- prune and destroy on ImgOpen: ImgOpen documents no delete or cancel, so both only *forget* the
  training (reconciler/providers/imgopen/adapter.py): they send no mutating request, so there is
  no crash point. `test_uncrashed_step_converges` still runs them and proves they send none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- manifest edits
def replace_text(root: Path, relpath: str, old: str, new: str) -> None:
    path = root / relpath
    text = path.read_text()
    assert old in text, f"{old!r} not in {relpath}"
    path.write_text(text.replace(old, new, 1))


def drop_documents(root: Path, relpath: str, kinds: set[str]) -> None:
    """Remove the YAML documents of these kinds from a multi-document file (a prune)."""
    path = root / relpath
    docs = path.read_text().split("\n---\n")
    kept = [d for d in docs if not any(f"\nkind: {k}\n" in f"\n{d}\n" for k in kinds)]
    assert len(kept) < len(docs), f"no document of kinds {sorted(kinds)} in {relpath}"
    path.write_text("\n---\n".join(kept) + "\n")


Edit = Callable[[Path], None]


# --------------------------------------------------------------------------- providers
@dataclass(frozen=True)
class Subject:
    """One provider's example manifest set and the edits each scenario makes to it."""

    provider: str  # the Provider manifest's name (and its type)
    example: str  # path under the repository
    edits: dict[str, Edit]  # scenario name -> the edit made before the crashing step
    kinds: frozenset[str]  # the kinds this provider serves
    # files of the example left out of the copy: the WaveSpeed Samples have a crash test of their
    # own (test_crash_samples.py), so the matrix keeps to the trainings it counts
    left_out: tuple[str, ...] = ()


SUBJECTS: dict[str, Subject] = {
    "dashscope": Subject(
        provider="dashscope",
        example="manifests/quickstart",
        kinds=frozenset({"Dataset", "FineTune", "CheckpointExport", "Deployment"}),
        edits={
            "replace": lambda r: replace_text(r, "money-rain.yaml", "n_epochs: 150", "n_epochs: 200"),
            "redeploy": lambda r: replace_text(
                r,
                "money-rain.yaml",
                "lora_prompt_default: s86b5p golden coins",
                "lora_prompt_default: s86b5p silver coins",
            ),
            "redeploy-suffix": lambda r: replace_text(
                r, "money-rain.yaml", "  capacity: 1\n", "  capacity: 1\n  suffix: v2\n"
            ),
            "dataset": lambda r: replace_text(
                r, "data/money-rain/data.jsonl", "golden coins", "silver coins"
            ),
            "prune": lambda r: drop_documents(
                r, "money-rain.yaml", {"FineTune", "CheckpointExport", "Deployment"}
            ),
        },
    ),
    "wavespeed": Subject(
        provider="wavespeed",
        example="manifests/examples/wavespeed",
        kinds=frozenset({"Dataset", "FineTune"}),
        left_out=("samples.yaml",),
        edits={
            "replace": lambda r: replace_text(r, "product-shots.yaml", "steps: 1000", "steps: 1200"),
            "dataset": lambda r: replace_text(
                r, "data/product-shots/shot_01.txt", "white background", "grey background"
            ),
            "prune": lambda r: drop_documents(r, "product-shots.yaml", {"FineTune"}),
        },
    ),
    "imgopen": Subject(
        provider="imgopen",
        example="manifests/examples/imgopen",
        kinds=frozenset({"Dataset", "FineTune"}),
        edits={
            "replace": lambda r: replace_text(r, "watercolor-cats.yaml", "maxEpochs: 20", "maxEpochs: 25"),
            "dataset": lambda r: replace_text(r, "watercolor-cats.yaml", "cat-12.png", "cat-13.png"),
            "prune": lambda r: drop_documents(r, "watercolor-cats.yaml", {"FineTune"}),
        },
    ),
}


# --------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    applied_first: bool  # the state before the step is "applied once" (else: empty)
    edited: bool  # the subject's edit for this scenario is made before the step
    step_wait: bool = True  # False: the crashing step is `apply --no-wait`
    destroy: bool = False  # the crashing step (and its recovery) is `destroy`
    trainings: int = 1  # training jobs the scenario needs, ever (the setup's included)
    not_applicable: dict[str, str] = field(
        default_factory=dict
    )  # provider -> why the scenario does not exist
    nothing_to_kill: dict[str, str] = field(
        default_factory=dict
    )  # provider -> why it sends no mutating request


NO_DEPLOYMENT = {"wavespeed": "WaveSpeed has no Deployment kind", "imgopen": "ImgOpen has no Deployment kind"}

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("create", "create from empty", applied_first=False, edited=False),
        Scenario(
            "replace", "replace after a hyper-parameter change", applied_first=True, edited=True, trainings=2
        ),
        Scenario(
            "redeploy",
            "redeploy after an aigc_config change (same deployed_model: destroy, then create)",
            applied_first=True,
            edited=True,
            not_applicable=NO_DEPLOYMENT,
        ),
        Scenario(
            "redeploy-suffix",
            "redeploy after a suffix change (a new deployed_model: create before destroy)",
            applied_first=True,
            edited=True,
            not_applicable=NO_DEPLOYMENT,
        ),
        Scenario("dataset", "dataset content change", applied_first=True, edited=True, trainings=2),
        Scenario(
            "prune",
            "prune everything below the dataset",
            applied_first=True,
            edited=True,
            nothing_to_kill={"imgopen": "ImgOpen has no delete: a prune only forgets"},
        ),
        Scenario(
            "destroy",
            "destroy",
            applied_first=True,
            edited=False,
            destroy=True,
            nothing_to_kill={"imgopen": "ImgOpen has no delete: destroy only forgets"},
        ),
        Scenario("nowait", "apply --no-wait, then apply", applied_first=False, edited=False, step_wait=False),
    )
}


def combinations(*, crashable_only: bool) -> list[tuple[str, str]]:
    """(provider, scenario) pairs that exist; with `crashable_only`, only those that have crash points."""
    return [
        (p, name)
        for p in SUBJECTS
        for name, s in SCENARIOS.items()
        if p not in s.not_applicable and not (crashable_only and p in s.nothing_to_kill)
    ]
