"""Typed request and response bodies of the DashScope APIs the reconciler uses (providers.md §1).

Responses are tolerant: real APIs add fields, so unknown fields are kept (`extra="allow"`) and
every documented field that is not always present is optional. Statuses stay plain strings (an
unknown status must not break a refresh); the known ones are listed as constants. Requests are
strict: a misspelt field is a bug here, not something to send to the provider.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _RareResponse(_Response):
    """A response a refresh never reads (logs, validation details, a delete's answer): its
    validator and serializer are built on first use (pydantic's `defer_build`), not at import."""

    model_config = ConfigDict(defer_build=True)


class _Request(BaseModel):
    # built on first use (`defer_build`): a plan sends no request body
    model_config = ConfigDict(extra="forbid", defer_build=True)

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


# --- Files (OpenAI-compatible, /compatible-mode/v1/files) ----------------------------------------


class FileStatus:
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    PROCESSED = "processed"
    ERROR = "error"


class FileObject(_Response):
    id: str
    object: str = "file"
    bytes: int | None = None
    filename: str | None = None
    purpose: str | None = None
    status: str | None = None
    created_at: int | None = None
    status_details: str | dict[str, Any] | None = None


class FileList(_Response):
    object: str = "list"
    has_more: bool = False
    data: list[FileObject] = Field(default_factory=list)


class FileDeleted(_RareResponse):
    id: str | None = None
    object: str = "file"
    deleted: bool = False


# --- Fine-tunes (/api/v1/fine-tunes) -------------------------------------------------------------


class FineTuneStatus:
    PENDING = "PENDING"
    QUEUING = "QUEUING"
    RUNNING = "RUNNING"
    CANCELING = "CANCELING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})


class FineTuneCreate(_Request):
    model: str
    training_file_ids: list[str] = Field(min_length=1)
    validation_file_ids: list[str] | None = None
    training_type: str | None = None
    hyper_parameters: dict[str, Any] | None = None
    job_name: str | None = None
    model_name: str | None = None


class FineTuneJob(_Response):
    job_id: str
    job_name: str | None = None
    status: str
    finetuned_output: str | None = (
        None  # the Wan seed shows it at create, the LLM doc only on SUCCEEDED: optional
    )
    model: str | None = None
    base_model: str | None = None
    training_file_ids: list[str] = Field(default_factory=list)
    validation_file_ids: list[str] = Field(default_factory=list)
    # A subset of what was sent (seed 002 echoes five keys), as numbers or as strings ("2.0E-5",
    # "400": the list-jobs page): compare with `adapter.same_hyper_parameter`, never with ==.
    hyper_parameters: dict[str, Any] = Field(default_factory=dict)
    training_type: str | None = None
    create_time: str | None = None
    end_time: str | None = None
    workspace_id: str | None = None
    user_identity: str | None = None
    creator: str | None = None
    modifier: str | None = None
    group: str | None = None
    usage: int | None = None
    max_output_cnt: int | None = None
    output_cnt: int | None = None
    # A job in a list may carry its own failure code/message; it is not a request failure.
    code: str | None = None
    message: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in FineTuneStatus.TERMINAL


class FineTunePage(_Response):
    page_no: int = 1
    page_size: int = 10
    total: int | None = None
    jobs: list[FineTuneJob] = Field(default_factory=list)


class FineTuneLogs(_RareResponse):
    total: int = 0
    logs: list[str] = Field(default_factory=list)

    @property
    def complete(self) -> bool:
        """The success marker DashScope writes as the last line."""
        return bool(self.logs) and self.logs[-1].rstrip().endswith("##FT_COMPLETE##")


class ValidationDetail(_RareResponse):
    video_path: str | None = None
    prompt: str | None = None
    first_frame_path: str | None = None
    last_frame_path: str | None = None


class ValidationDetailsPage(_RareResponse):
    page_no: int = 1
    page_size: int = 10
    total: int = 0
    items: list[ValidationDetail] = Field(default_factory=list, alias="list")


class ExportStatus:
    PENDING = "PENDING"  # never exported, or queued: the two look the same
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    UNSUPPORTED = "UNSUPPORTED"


class Checkpoint(_Response):
    checkpoint: str
    job_id: str | None = None
    full_name: str | None = None
    checkpoint_id: str | None = None
    step: int | None = None
    create_time: str | None = None
    expire_time: str | None = None
    status: str | None = None
    model_name: str | None = None  # the deployable id; absent until status is SUCCEEDED [seed]
    model_display_name: str | None = None  # the name given to the export; absent until SUCCEEDED too


# --- Deployments (/api/v1/deployments) -----------------------------------------------------------


class DeploymentStatus:
    PENDING = "PENDING"
    DEPLOYING = "DEPLOYING"
    RUNNING = "RUNNING"
    UPDATING = "UPDATING"
    UPDATING_FAILED = "UPDATING_FAILED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    DELETING = "DELETING"
    OFFLINING = "OFFLINING"
    ARREARS_DOWN = "ARREARS_DOWN"
    ARREARS_RECOVERING = "ARREARS_RECOVERING"


class AigcConfig(_Request):
    use_input_prompt: bool | None = None
    prompt: str | None = None
    lora_prompt_default: str | None = None


class PtuCapacity(_Request):
    input_tpm: int | None = None
    output_tpm: int | None = None
    thinking_output_tpm: int | None = None


class DeploymentCreate(_Request):
    model_name: str
    plan: str = "lora"
    capacity: int = 1  # ignored for plan=lora but must be sent
    aigc_config: AigcConfig | None = None
    name: str | None = None
    suffix: str | None = Field(None, max_length=8)
    deploy_spec: str | None = None
    billing_method: str | None = None
    template_id: str | None = None
    enable_thinking: bool | None = None
    max_context_length: int | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    ptu_capacity: PtuCapacity | None = None
    model_version: str | None = None


class Deployment(_Response):
    # The server's id: the model name, or with a suffix `<model_name>-<8 hex>-<suffix>` [doc] —
    # never computed by us; deployments are found by listing and matching `model_name`.
    deployed_model: str
    model_name: str | None = None
    base_model: str | None = None
    status: str
    plan: str | None = None
    charge_type: str | None = None
    name: str | None = None
    gmt_create: str | None = None
    gmt_modified: str | None = None
    workspace_id: str | None = None
    creator: str | None = None
    modifier: str | None = None
    base_capacity: int | None = None
    capacity: int | None = None
    ready_capacity: int | None = None


class DeploymentPage(_Response):
    page_no: int = 1
    page_size: int = 10
    total: int | None = None
    deployments: list[Deployment] = Field(default_factory=list)


__all__ = [
    "AigcConfig",
    "Checkpoint",
    "Deployment",
    "DeploymentCreate",
    "DeploymentPage",
    "DeploymentStatus",
    "ExportStatus",
    "FileDeleted",
    "FileList",
    "FileObject",
    "FileStatus",
    "FineTuneCreate",
    "FineTuneJob",
    "FineTuneLogs",
    "FineTunePage",
    "FineTuneStatus",
    "PtuCapacity",
    "ValidationDetail",
    "ValidationDetailsPage",
]
