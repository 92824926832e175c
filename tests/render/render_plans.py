"""Hand-built plans for the renderer tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

from typing import Any

from reconciler.models.changes import ChangeClass
from reconciler.models.plans import Action, ActionType, Cost, FieldChange, Plan, ReplaceMode


def action(
    address: str = "FineTune/money-rain",
    kind: str | None = None,
    act: ActionType = ActionType.CREATE,
    **extra: Any,
) -> Action:
    kind = kind or address.split("/", 1)[0]
    return Action(
        address=address,
        kind=kind,
        name=address.split("/", 1)[1],
        provider="dashscope",
        provider_type="dashscope",
        action=act,
        **extra,
    )


def retrain() -> Action:
    return action(
        act=ActionType.REPLACE,
        change_class=ChangeClass.RETRAIN,
        replace_mode=ReplaceMode.CREATE_BEFORE_DESTROY,
        reason="hyper_parameters.learning_rate 2e-05 → 0.0001 forces retrain",
        changes=[
            FieldChange(
                path="hyper_parameters.learning_rate",
                before=2e-5,
                after=1e-4,
                change_class=ChangeClass.RETRAIN,
            )
        ],
        cost=Cost(training_steps=1200, estimated_gpu_hours=8.0, note="1200 training steps"),
        prior={"remote_id": "ft-1"},
    )


def mixed_plan() -> Plan:
    return Plan(
        reconciler_version="0.1.0",
        created_at="2026-01-01T00:00:00.000Z",
        lineage="abcdef12-0000",
        serial=3,
        actions=[
            action(
                "Dataset/train",
                act=ActionType.REPLACE,
                change_class=ChangeClass.RETRAIN,
                replace_mode=ReplaceMode.CREATE_BEFORE_DESTROY,
                reason="dataset content changed (1 modified, 7 added) forces retrain",
                changes=[
                    FieldChange(
                        path="(content)",
                        before="sha256:" + "a" * 64,
                        after="sha256:" + "b" * 64,
                        change_class=ChangeClass.RETRAIN,
                    )
                ],
                facts={
                    "files_modified": ["data.jsonl"],
                    "files_added": [f"image_{i}.png" for i in range(11, 18)],
                    "summary": "x",
                },
            ),
            retrain(),
            action(
                "Deployment/money-rain",
                act=ActionType.UPDATE,
                change_class=ChangeClass.UPDATE,
                drift=True,
                reason="changed outside reconciler: capacity is 1, manifest says 2",
                changes=[
                    FieldChange(
                        path="capacity", before=1, after=2, change_class=ChangeClass.UPDATE, outside=True
                    )
                ],
            ),
            action(
                "Deployment/old",
                act=ActionType.REPLACE,
                change_class=ChangeClass.REDEPLOY,
                replace_mode=ReplaceMode.DESTROY_BEFORE_CREATE,
                reason="aigc_config.prompt changed",
            ),
            action(
                "FineTune/old",
                act=ActionType.CANCEL,
                reason="removed; job ft-9 is RUNNING",
                facts={"running_for": "2h13m"},
            ),
            action("Dataset/kept", act=ActionType.NOOP, facts={"status": "processed"}),
            action("Dataset/found", act=ActionType.ADOPT, reason="found by fingerprint"),
        ],
        errors=[
            {
                "severity": "error",
                "file": "m/ft.yaml",
                "line": 14,
                "column": 5,
                "address": "FineTune/money-rain",
                "field": "lifecycle.prevent_destroy",
                "message": "would replace it",
            }
        ],
    )


def big_plan(n: int) -> Plan:
    return Plan(
        reconciler_version="0.1.0",
        created_at="2026-01-01T00:00:00.000Z",
        actions=[
            action(
                f"FineTune/job-{i:05d}",
                act=ActionType.REPLACE,
                change_class=ChangeClass.RETRAIN,
                reason=f"hyper_parameters.n_epochs {i} → {i + 1} forces retrain",
                changes=[
                    FieldChange(
                        path="hyper_parameters.n_epochs",
                        before=i,
                        after=i + 1,
                        change_class=ChangeClass.RETRAIN,
                    )
                ],
                cost=Cost(training_steps=1000 + i, estimated_gpu_hours=6.7),
            )
            for i in range(n)
        ],
    )
