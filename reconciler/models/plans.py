"""A plan is a value (STYLE.md, after Terraform): data that can be saved, rendered and applied.

Apply is driven only by each action's `action`, `address`, `desired`, `content`, `prior` and
`replace_mode`. Fields marked *display only* (`reason`, `changes`, `warnings`, `facts`,
`cost`) explain the plan to a human and never steer apply.

The JSON form is versioned (`format_version`); see README "Plan JSON format".
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

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


# `_Data.trusted`: class -> every field name (a set, shared), and the same in declaration order
_ALL_FIELDS_SET: dict[type[BaseModel], set[str]] = {}
_FIELD_ORDER: dict[type[BaseModel], tuple[str, ...]] = {}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    @classmethod
    def trusted(cls, **values: Any) -> Self:
        """An instance from values its caller built and owns, every field given: no validation.

        Why: a no-change plan makes one `Action` and one `Cost` per resource (8,000 at 1,000
        chains); validating copies every dict and list they hold once more, and `model_construct`
        looks at every field's default (in pydantic 2.14 it inspects each default factory's
        signature, ~280 µs an action) although every field is given. The values must be what
        validation would have kept (the right types, enums as enums): nothing checks them here.
        `__dict__` is built in declaration order, as validation builds it, because the serializer
        writes the fields in `__dict__`'s order (the saved plan's bytes).

        Every field is set, so `model_fields_set` is all of them: one set per class, shared (a set
        per instance is ~1 KB; pydantic only ever `add`s a field's name to it on assignment, and
        every name is in it already, so it never changes).

        The fields are set one by one, in declaration order, on the bare instance: CPython then
        keeps `__dict__` as a key-sharing dict (one table of names per class, a row of values per
        instance), 112 bytes for a `FieldChange` instead of a dict of its own (184). A plan holds
        one `FieldChange` per field of every created resource (33,000 at 1,000 chains).
        """
        shared = _ALL_FIELDS_SET.get(cls)
        if shared is None:
            shared = _ALL_FIELDS_SET[cls] = set(cls.__pydantic_fields__)
            _FIELD_ORDER[cls] = tuple(cls.__pydantic_fields__)
        if tuple(values) != _FIELD_ORDER[cls]:  # given in another order, or not every field
            names = cls.__pydantic_fields__
            if values.keys() != names.keys():
                missing, extra = sorted(names.keys() - values.keys()), sorted(values.keys() - names.keys())
                raise TypeError(
                    f"{cls.__name__}.trusted needs every field: missing {missing}, unknown {extra}"
                )
            values = {name: values[name] for name in names}
        return cls._trusted_in_order(values, shared, key_sharing=True)

    @classmethod
    def _trusted_in_order(
        cls, values: dict[str, Any], shared: set[str] | None = None, *, key_sharing: bool = False
    ) -> Self:
        """`trusted(**values)` when `values` is already a dict of every field, in declaration order,
        that the caller built and owns: not checked here (the planner's one hot caller, for every
        resource, builds it as a literal; the golden plans' bytes are what check its order).

        `key_sharing`: set the fields one by one (the key-sharing `__dict__` of `trusted`, for the
        many small models); without it the caller's dict itself becomes `__dict__` (no copy: the
        planner's one `Action` per resource, where the time matters more than ~a third of a dict)."""
        if shared is None:
            shared = _ALL_FIELDS_SET.get(cls)
            if shared is None:
                shared = _ALL_FIELDS_SET[cls] = set(cls.__pydantic_fields__)
                _FIELD_ORDER[cls] = tuple(cls.__pydantic_fields__)
        instance = cls.__new__(cls)
        put = object.__setattr__
        if key_sharing:
            for name, value in values.items():
                put(instance, name, value)
        else:
            put(instance, "__dict__", values)  # the call's own dict: nobody else holds it
        put(instance, "__pydantic_fields_set__", shared)
        put(instance, "__pydantic_extra__", None)
        put(instance, "__pydantic_private__", None)
        return instance


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

    # ---- a `prior` made when first needed
    # A no-change plan holds one action per resource, and each one's `prior` is its state record as
    # a dict. Most plans are printed and dropped: nobody reads a no-op's prior. So the planner may
    # hand over the record's `to_dict` instead (`defer_prior`), and the dict is made when the
    # field is first read, compared, copied or written out (the serializer below). Until then
    # "prior" is not in `__dict__` and the maker is the only private value.
    def defer_prior(self, make: Callable[[], dict[str, Any]]) -> None:
        """`self.prior = make()`, made on first use; `make` must give the same dict whenever it is called."""
        self.__dict__.pop("prior", None)
        object.__setattr__(self, "__pydantic_private__", {_PRIOR: make})

    def _materialise_prior(self) -> None:
        private = self.__pydantic_private__
        if not private or _PRIOR not in private:
            return
        object.__setattr__(self, "__pydantic_private__", None)
        fields = self.__dict__
        if "prior" not in fields:  # (assigned meanwhile: the assignment wins)
            value = private[_PRIOR]()
            # in declaration order, as validation builds it: the serializer writes `__dict__`'s order
            ordered = {
                name: value if name == "prior" else fields[name] for name in type(self).__pydantic_fields__
            }
            object.__setattr__(self, "__dict__", ordered)

    if not TYPE_CHECKING:  # (so that mypy still refuses a misspelt attribute)

        def __getattr__(self, name: str) -> Any:
            if name == "prior" and self.__pydantic_private__:
                self._materialise_prior()
                return self.__dict__["prior"]
            return super().__getattr__(name)

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        self._materialise_prior()
        return handler(self)

    def __eq__(self, other: object) -> bool:
        self._materialise_prior()
        if isinstance(other, Action):
            other._materialise_prior()
        return super().__eq__(other)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PLAIN_FIELDS:
            # what pydantic does for a field of this model (no assignment validation, not frozen),
            # without its handler lookup: a plan sets a few fields of every action after building it
            self.__dict__[name] = value
            self.__pydantic_fields_set__.add(name)
            return
        if name == "prior" and self.__pydantic_private__:  # a deferred one: replaced, in its place
            object.__setattr__(self, "__pydantic_private__", None)
            fields = self.__dict__
            ordered = {n: value if n == "prior" else fields[n] for n in type(self).__pydantic_fields__}
            object.__setattr__(self, "__dict__", ordered)
            return
        super().__setattr__(name, value)

    def __iter__(self) -> Any:
        self._materialise_prior()
        return super().__iter__()

    def __copy__(self) -> Self:
        self._materialise_prior()
        return super().__copy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        self._materialise_prior()
        return super().__deepcopy__(memo)

    def __getstate__(self) -> dict[Any, Any]:
        self._materialise_prior()
        return super().__getstate__()

    def __repr_args__(self) -> Any:
        self._materialise_prior()
        return super().__repr_args__()


_PRIOR = "_prior_from"  # Action's private key: the deferred maker of its `prior`
# Action's fields that `__setattr__` sets directly (`prior` may be deferred: it has its own path)
_PLAIN_FIELDS = frozenset(Action.model_fields) - {"prior"}


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
        # counted in plain ints, one model at the end: a pydantic attribute write per action per
        # count was most of a no-change plan's summary (it is asked for twice per printed plan)
        counts = dict.fromkeys(PlanSummary.model_fields, 0)
        noop, wait = ActionType.NOOP, ActionType.WAIT
        for a in self.actions:
            kind = a.action
            counts["no_op" if kind is noop else kind.value] += 1
            change = kind.is_change
            if change and a.change_class is ChangeClass.RETRAIN and a.kind == "FineTune":
                counts["retrains"] += 1
            if a.drift:
                counts["drifted"] += 1
            if not change:
                continue
            if a.drift:
                counts["drift_changes"] += 1
            elif kind is wait:
                counts["unsettled"] += 1
            else:
                counts["manifest_changes"] += 1
        return PlanSummary.trusted(**counts)  # every field, an int, in declaration order
