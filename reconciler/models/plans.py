"""A plan is a value (STYLE.md, after Terraform): data that can be saved, rendered and applied.

Apply is driven only by each action's `action`, `address`, `desired`, `content`, `prior` and
`replace_mode`. Fields marked *display only* (`reason`, `changes`, `warnings`, `facts`,
`cost`) explain the plan to a human and never steer apply.

The JSON form is versioned (`format_version`); see README "Plan JSON format".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reconciler.models.changes import ChangeClass
from reconciler.models.costs import CostTotal

PLAN_FORMAT_VERSION = "1.3"  # 1.1: cost money, currency, price, queue; cost_total. 1.2: gated_by. 1.3: mode, environment, summary


class ActionType(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    CANCEL = "cancel"  # a running job that is no longer wanted: cancel, then delete
    ADOPT = "adopt"  # found on the provider by fingerprint; recorded in state, no provider call
    FORGET = "forget"  # lifecycle.deletion: retain — removed from state, left on the provider
    WAIT = "wait"  # unsettled: pending on the provider (training, exporting, deploying); apply waits for it
    NOOP = "no-op"

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]

    @property
    def is_change(self) -> bool:
        """Whether this counts as a change for `plan --detailed-exitcode`.

        ADOPT is not: it rebuilds the state cache from what the provider already has (a fresh CI
        runner, a lost state file) and changes nothing on the provider.
        """
        return self not in (ActionType.NOOP, ActionType.ADOPT)


_SYMBOLS = {
    ActionType.CREATE: "+",
    ActionType.UPDATE: "~",
    ActionType.REPLACE: "-/+",
    ActionType.DELETE: "-",
    ActionType.CANCEL: "x",
    ActionType.ADOPT: "<=",
    ActionType.FORGET: "~>",
    ActionType.WAIT: "..",
    ActionType.NOOP: " ",
}


class ReplaceMode(StrEnum):
    CREATE_BEFORE_DESTROY = "create_before_destroy"
    DESTROY_BEFORE_CREATE = "destroy_before_create"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldChange(_Data):
    """Display only."""

    path: str  # dotted spec path, e.g. "hyper_parameters.learning_rate"; "(content)" for dataset bytes
    before: Any = None
    after: Any = None
    change_class: ChangeClass
    outside: bool = False  # changed on the provider, not in the manifest (drift)


class Cost(_Data):
    """Display only: what the action spends (README "Money in the plan").

    `money` is None when the price is unknown (never 0 for "don't know"); `billable` is False for
    actions that start no new provider work (delete, forget, adopt, wait), which cost nothing new.
    """

    training_steps: int | None = None
    estimated_gpu_hours: float | None = None
    note: str | None = None
    billable: bool = True
    money: float | None = None
    currency: str | None = None
    price: str | None = None  # "$0.05 per 1k training tokens"
    unit_price: float | None = None  # the same price as data: amount per `per`, in `currency`
    per: str | None = None
    price_source: str | None = None  # URL/doc and date, the manifest's spec.pricing, or the pricing endpoint
    quantities: dict[str, float] = Field(default_factory=dict)  # unit -> amount the price multiplies
    unknown: str | None = None  # why the money is unknown
    # where a training job waits for a slot on its provider account (quota-aware scheduling)
    queued_behind: int | None = None
    queue_wait_hours: float | None = None


class Action(_Data):
    address: str
    kind: str
    name: str
    provider: str
    provider_type: str
    action: ActionType
    change_class: ChangeClass | None = None
    replace_mode: ReplaceMode | None = None
    depends_on: list[str] = Field(default_factory=list)
    # what apply needs
    desired: dict[str, Any] | None = None  # effective spec (create/update/replace/adopt)
    spec_hash: str | None = None
    content: dict[str, Any] | None = None  # {"digest", "files", "sample_count", "source"} for local datasets
    prior: dict[str, Any] | None = None  # the state record this acts on (ResourceRecord.to_dict())
    adopted: dict[str, Any] | None = None  # adopt: the observation found by fingerprint
    deposed: str | None = None  # delete/forget: the remote id of an object an interrupted replace left behind
    # replace / deposed delete: the dependents whose success the old object's deletion waits for
    # (a Deployment's `requires`); other Samples that render with it never hold the old object
    gated_by: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    lifecycle: dict[str, Any] = Field(default_factory=dict)
    drift: bool = False  # the action exists because the provider changed, not the manifest
    moved_from: str | None = None  # the address whose state apply moves here first (a rename: same object)
    # display only
    reason: str = ""
    changes: list[FieldChange] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    facts: dict[str, Any] = Field(default_factory=dict)
    cost: Cost | None = None

    @property
    def is_change(self) -> bool:
        return self.action.is_change


class PlanSummary(_Data):
    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0
    cancel: int = 0
    adopt: int = 0
    forget: int = 0
    wait: int = 0
    no_op: int = 0
    retrains: int = 0
    drifted: int = 0
    # changes (what --detailed-exitcode counts) by cause
    drift_changes: int = 0  # the provider moved: deleted, FAILED, scaled outside
    manifest_changes: int = 0  # the manifests differ from the state
    unsettled: int = 0  # still training, exporting or deploying: apply waits for it


class Plan(_Data):
    format_version: str = PLAN_FORMAT_VERSION
    reconciler_version: str
    created_at: str
    operation: str = "apply"  # apply | destroy
    mode: str = "normal"  # normal | refresh-only (drift alone: accepting it changes only the state)
    environment: str | None = None  # the project environment it was planned for (--env)
    manifest_paths: list[str] = Field(default_factory=list)
    state_path: str | None = None
    lineage: str | None = None
    serial: int = 0
    refreshed: bool = True
    targets: list[str] = Field(
        default_factory=list
    )  # --target: a partial plan (display, and apply's warning)
    actions: list[Action] = Field(default_factory=list)  # dependency order (deletes in reverse)
    errors: list[dict[str, Any]] = Field(
        default_factory=list
    )  # Diagnostic.to_dict(); a plan with errors cannot be applied
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    cost_total: CostTotal | None = None  # display only: the sum of the actions' costs

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.is_change]

    @property
    def has_changes(self) -> bool:
        return any(a.is_change for a in self.actions)

    def summary(self) -> PlanSummary:
        s = PlanSummary()
        for a in self.actions:
            key = "no_op" if a.action is ActionType.NOOP else a.action.value
            setattr(s, key, getattr(s, key) + 1)
            if a.is_change and a.change_class is ChangeClass.RETRAIN and a.kind == "FineTune":
                s.retrains += 1
            if a.drift:
                s.drifted += 1
            if not a.is_change:
                continue
            if a.drift:
                s.drift_changes += 1
            elif a.action is ActionType.WAIT:
                s.unsettled += 1
            else:
                s.manifest_changes += 1
        return s
