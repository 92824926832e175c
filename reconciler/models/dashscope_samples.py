"""DashScope Sample: a video rendered by a deployed Wan LoRA (providers.md §1.7).

The deployed model is called like its base model: `POST /api/v1/services/aigc/video-generation/
video-synthesis` (first frame, i2v) or `…/image2video/video-synthesis` (first + last frame, kf2v),
asynchronously (`X-DashScope-Async: enable`), then `GET /api/v1/tasks/{task_id}`. The body is
`{"model": <deployed_model>, "input": {img_url | first_frame_url + last_frame_url [, prompt]},
"parameters": {resolution, prompt_extend}}`; `input.prompt` is used only when the deployment's
`aigc_config.use_input_prompt` is true. Resolutions: wan2.2 / wan2.5 480P | 720P, wan2.6 720P | 1080P.

Which of the two calls and which resolutions apply depend on the deployed model's base model, so
the Deployment → FineTune chain is checked at load time (`DashScopeSample.manifest_problems`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator

from reconciler.models.changes import ChangeClass, change_class
from reconciler.models.envelope import Name
from reconciler.models.kinds import Kind
from reconciler.models.rule_errors import RuleError, raise_rule_errors, rule_error
from reconciler.models.specs import ResourceSpec

if TYPE_CHECKING:
    from reconciler.models.resources import ManifestSet, Resource

RERENDER = ChangeClass.RERENDER

# base model -> the resolutions its video synthesis takes (providers.md §1.7)
RESOLUTIONS: dict[str, tuple[str, ...]] = {
    "wan2.6-i2v": ("720P", "1080P"),
    "wan2.5-i2v-preview": ("480P", "720P"),
    "wan2.2-i2v-flash": ("480P", "720P"),
    "wan2.2-kf2v-flash": ("480P", "720P"),
}
DEFAULT_RESOLUTION = "720P"


def _https(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise rule_error(f"must be an https:// URL (got {value!r})")
    return value


class DashScopeSample(ResourceSpec):
    """One video from a Deployment's model (`POST …/video-synthesis`, then `GET /api/v1/tasks/{id}`)."""

    KIND: ClassVar[Kind] = Kind.SAMPLE
    PROVIDER_TYPE: ClassVar[str] = "dashscope"
    REFERENCES: ClassVar[dict[str, Kind]] = {"deployment": Kind.DEPLOYMENT}

    provider: Name = change_class(RERENDER, description="metadata.name of a Provider of type dashscope")
    deployment: Name = change_class(
        RERENDER, description="Name of the Deployment whose model renders the video"
    )
    img_url: str | None = change_class(
        RERENDER,
        None,
        description="https:// URL of the first frame (i2v models; exactly one of img_url or the pair)",
    )
    first_frame_url: str | None = change_class(
        RERENDER, None, description="https:// URL of the first frame (kf2v: wan2.2-kf2v-flash)"
    )
    last_frame_url: str | None = change_class(
        RERENDER, None, description="https:// URL of the last frame (kf2v: wan2.2-kf2v-flash)"
    )
    prompt: str | None = change_class(
        RERENDER,
        None,
        min_length=1,
        description="Sent as input.prompt; the model uses it only when the Deployment's aigc_config.use_input_prompt is true",
    )
    resolution: str = change_class(
        RERENDER,
        DEFAULT_RESOLUTION,
        description="480P or 720P (wan2.2, wan2.5); 720P or 1080P (wan2.6). Default 720P",
    )
    prompt_extend: bool = change_class(RERENDER, False, description="Let the service rewrite the prompt")

    @field_validator("img_url", "first_frame_url", "last_frame_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return _https(value) if value is not None else None

    @model_validator(mode="after")
    def _frames(self) -> DashScopeSample:
        errors: list[RuleError] = []
        pair = (self.first_frame_url, self.last_frame_url)
        if self.img_url is None and pair == (None, None):
            errors.append(
                RuleError(("img_url",), "give img_url (i2v) or first_frame_url and last_frame_url (kf2v)")
            )
        elif self.img_url is not None and pair != (None, None):
            errors.append(
                RuleError(("first_frame_url",), "give either img_url or the first/last frame pair, not both")
            )
        elif self.img_url is None and None in pair:
            missing = "last_frame_url" if self.last_frame_url is None else "first_frame_url"
            errors.append(RuleError((missing,), "kf2v needs both first_frame_url and last_frame_url"))
        if self.resolution not in {r for rs in RESOLUTIONS.values() for r in rs}:
            errors.append(
                RuleError(
                    ("resolution",), f"must be 480P, 720P or 1080P (got {self.resolution})", self.resolution
                )
            )
        raise_rule_errors(type(self).__name__, errors)
        return self

    @property
    def kf2v(self) -> bool:
        return self.img_url is None

    def manifest_problems(self, manifests: ManifestSet) -> list[tuple[str, str]]:
        """The frames and resolution the deployed model's base model takes (providers.md §1.7)."""
        deployment = manifests.resources.get(f"{Kind.DEPLOYMENT.value}/{self.deployment}")
        base = _base_model(manifests, deployment) if deployment is not None else None
        if base is None:
            return []
        problems: list[tuple[str, str]] = []
        kf2v = base.startswith("wan2.2-kf2v")
        if kf2v != self.kf2v:
            wanted = "first_frame_url and last_frame_url" if kf2v else "img_url"
            problems.append(
                (
                    "spec.img_url" if self.img_url else "spec.first_frame_url",
                    f"{self.deployment} serves {base}, which takes {wanted} (providers.md §1.7)",
                )
            )
        allowed = RESOLUTIONS.get(base, ())
        if allowed and self.resolution not in allowed:
            problems.append(
                ("spec.resolution", f"must be one of {', '.join(allowed)} for {base} (got {self.resolution})")
            )
        return problems


def _base_model(manifests: ManifestSet, deployment: Resource) -> str | None:
    """The Wan base model a Deployment serves, through its FineTune or CheckpointExport."""
    source = getattr(deployment.spec, "fine_tune", None)
    if source is None:
        export = manifests.resources.get(
            f"{Kind.CHECKPOINT_EXPORT.value}/{getattr(deployment.spec, 'checkpoint_export', '')}"
        )
        source = getattr(export.spec, "fine_tune", None) if export is not None else None
    fine_tune = manifests.resources.get(f"{Kind.FINE_TUNE.value}/{source}") if source else None
    model = getattr(fine_tune.spec, "model", None) if fine_tune is not None else None
    return str(model) if model else None
