"""Contract: the emulator's responses have the seed document's keys and value types, field for field.

The fixtures in `seed_examples/` are the JSON examples of seed 002. Nested objects are compared
recursively. Two documented deviations: `hyper_parameters` may carry more keys than the seed's
example (the emulator echoes every effective value, the seed shows five), and checkpoint objects
carry the newer docs' `checkpoint_id`, `step`, `expire_time` besides the seed's keys.

Every test runs in both fidelity modes. In `documented` mode two more documented shapes are
allowed, and required: hyper-parameters echoed as strings (exactly the seed's five keys), and no
`finetuned_output` before the job SUCCEEDED (the LLM reference).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_testkit import Kit, dataset_zip

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox

EXAMPLES = Path(__file__).parent / "seed_examples"
# The seed documents, vendored in the repository (tests/seeds/, kept equal to shared/seeds by
# tests/test_vendored_seeds.py), so a clean clone checks them too.
SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def seed(name: str) -> Any:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def _numeric_text(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return isinstance(v, str)


def same_shape(
    actual: Any,
    expected: Any,
    path: str = "$",
    superset_at: tuple[str, ...] = (),
    text_numbers_under: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
) -> list[str]:
    """Differences in keys and JSON value types between `actual` and `expected`.

    `superset_at`: objects that may carry keys the seed lacks; `text_numbers_under`: objects whose
    values may be numbers written as strings where the seed has numbers; `optional`: paths that may
    be absent.
    """
    problems: list[str] = []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {type(actual).__name__}"]
        missing = {k for k in set(expected) - set(actual) if f"{path}.{k}" not in optional}
        extra = set() if path in superset_at else set(actual) - set(expected)
        problems += [f"{path}.{k}: missing" for k in sorted(missing)]
        problems += [f"{path}.{k}: not in the seed" for k in sorted(extra)]
        for key in set(expected) & set(actual):
            if (
                path in text_numbers_under
                and _numeric_text(actual[key])
                and not isinstance(expected[key], str | bool)
            ):
                continue
            problems += same_shape(
                actual[key], expected[key], f"{path}.{key}", superset_at, text_numbers_under, optional
            )
    elif isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array, got {type(actual).__name__}"]
        if expected and actual:
            for item in actual:
                problems += same_shape(
                    item, expected[0], f"{path}[]", superset_at, text_numbers_under, optional
                )
    else:

        def kind(v: Any) -> str:
            return "number" if isinstance(v, int | float) and not isinstance(v, bool) else type(v).__name__

        if kind(actual) != kind(expected):
            problems.append(
                f"{path}: {kind(actual)} where the seed has {kind(expected)} ({actual!r} vs {expected!r})"
            )
    return problems


def assert_shape(actual: Any, name: str, **allowances: tuple[str, ...]) -> None:
    problems = same_shape(actual, seed(name), **allowances)
    assert not problems, "\n".join(problems)


HP = ("$.output.hyper_parameters", "$.output.jobs[].hyper_parameters")
FIDELITIES = ("permissive", "documented")


@pytest.fixture(params=FIDELITIES)
def sandbox(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=7, fidelity=request.param)
    yield sb
    sb.close()


def allowances(fidelity: str) -> dict[str, tuple[str, ...]]:
    if fidelity == "documented":
        # exactly the seed's five keys, as strings (list-jobs page); finetuned_output only on SUCCEEDED
        return {"text_numbers_under": HP, "optional": ("$.output.finetuned_output",)}
    return {"superset_at": HP}


@pytest.fixture
def flow(kit: Kit) -> dict[str, Any]:
    """One run through every documented call, recording each raw response body."""
    out: dict[str, Any] = {}
    r = kit.http.post(
        "/compatible-mode/v1/files",
        files={"file": ("ds.zip", dataset_zip(10))},
        data={"purpose": "fine-tune"},
    )
    out["files_upload"] = r.json()
    kit.wait_processed(out["files_upload"]["id"])
    r = kit.http.post(
        "/api/v1/fine-tunes",
        json={
            "model": "wan2.5-i2v-preview",
            "training_file_ids": [out["files_upload"]["id"]],
            "training_type": "efficient_sft",
            "hyper_parameters": {
                "n_epochs": 10,
                "batch_size": 2,
                "learning_rate": 2e-5,
                "split": 0.9,
                "eval_epochs": 2,
                "max_pixels": 36864,
            },
        },
    )
    out["fine_tune_create"] = r.json()
    job_id = r.json()["output"]["job_id"]
    kit.run_until(job_id, "SUCCEEDED")
    base = f"/api/v1/fine-tunes/{job_id}"
    out["fine_tune_get"] = kit.http.get(base).json()
    out["fine_tune_list"] = kit.http.get("/api/v1/fine-tunes").json()
    out["logs"] = kit.http.get(f"{base}/logs").json()
    out["validation_results"] = kit.http.get(f"{base}/validation-results").json()
    out["validation_details"] = kit.http.get(
        f"{base}/validation-details/checkpoint-50", params={"page_no": 1, "page_size": 10}
    ).json()
    out["export"] = kit.http.get(f"{base}/export/checkpoint-40", params={"model_name": "display-c40"}).json()
    kit.clock.advance(5)
    out["checkpoints"] = kit.http.get(f"{base}/checkpoints").json()
    finetuned = out["fine_tune_get"]["output"]["finetuned_output"]
    out["deployment_create"] = kit.http.post(
        "/api/v1/deployments",
        json={
            "model_name": finetuned,
            "capacity": 1,
            "plan": "lora",
            "aigc_config": {"use_input_prompt": False, "prompt": "p", "lora_prompt_default": "d"},
        },
    ).json()
    kit.clock.advance(5)
    out["deployment_get"] = kit.http.get(f"/api/v1/deployments/{finetuned}").json()
    out["deployment_delete"] = kit.http.delete(f"/api/v1/deployments/{finetuned}").json()
    kit.clock.advance(5)
    out["deployment_get_deleted"] = kit.http.get(f"/api/v1/deployments/{finetuned}").json()
    other = kit.create_job(out["files_upload"]["id"])
    out["fine_tune_cancel"] = kit.http.post(f"/api/v1/fine-tunes/{other['job_id']}/cancel").json()
    out["fine_tune_delete"] = kit.http.delete(base).json()
    return out


@pytest.mark.parametrize(
    "name",
    [
        "files_upload",
        "fine_tune_create",
        "fine_tune_get",
        "fine_tune_list",
        "logs",
        "validation_results",
        "validation_details",
        "export",
        "deployment_create",
        "deployment_get",
        "deployment_delete",
        "deployment_get_deleted",
        "fine_tune_cancel",
        "fine_tune_delete",
    ],
)
def test_response_matches_the_seed_example(flow: dict[str, Any], kit: Kit, name: str) -> None:
    assert_shape(flow[name], name, **allowances(kit.sb.fidelity))


def test_documented_fidelity_shows_the_least_helpful_documented_shapes(
    flow: dict[str, Any], kit: Kit
) -> None:
    created, got = flow["fine_tune_create"]["output"], flow["fine_tune_get"]["output"]
    listed = flow["fine_tune_list"]["output"]["jobs"][0]
    if kit.sb.fidelity == "permissive":
        assert created["finetuned_output"] == got["finetuned_output"]
        assert got["hyper_parameters"]["learning_rate"] == 2e-5 and got["hyper_parameters"]["lora_rank"] == 32
        assert flow["files_upload"]["status"] == "processed"
        return
    assert "finetuned_output" not in created and got["finetuned_output"]
    for job in (created, got, listed):
        assert job["hyper_parameters"] == {
            "n_epochs": "10",
            "batch_size": "2",
            "learning_rate": "2.0E-5",
            "split": "0.9",
            "eval_epochs": "2",
        }
    assert flow["files_upload"]["status"] == "uploaded"


def test_checkpoints_match_the_seed_for_both_exported_and_unexported(flow: dict[str, Any]) -> None:
    views = flow["checkpoints"]["output"]
    example = {v["status"]: v for v in seed("checkpoints")["output"]}
    newer_doc_keys = {"checkpoint_id", "step", "expire_time"}
    exported = [v for v in views if v["status"] == "SUCCEEDED"]
    unexported = [v for v in views if v["status"] == "PENDING"]
    assert len(exported) == 1 and unexported
    for view, ex in ((exported[0], example["SUCCEEDED"]), (unexported[0], example["PENDING"])):
        assert set(view) - newer_doc_keys == set(ex)
        assert not same_shape({k: view[k] for k in ex}, ex)
    assert isinstance(exported[0]["step"], int)


def test_a_missing_seed_directory_fails_instead_of_skipping(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="seed document 002_\\* not found"):
        seed_document(tmp_path / "nowhere")


def seed_document(seeds: Path = SEEDS) -> Path:
    """Seed 002 (the DashScope fine-tune API); a missing one fails the test, never skips it."""
    found = sorted(seeds.glob("002_*")) if seeds.is_dir() else []
    if not found:
        pytest.fail(
            f"seed document 002_* not found in {seeds}: the fixtures' source must be checked, not skipped "
            "(tests/seeds/ is the vendored copy of shared/seeds)"
        )
    return found[0]


def test_fixtures_are_the_seed_documents_json() -> None:
    text = seed_document().read_text(encoding="utf-8")
    for name in ("files_upload", "fine_tune_get", "deployment_delete", "logs"):
        ex = seed(name)
        needle = ex.get("request_id") or ex.get("id")
        assert needle in text, name
