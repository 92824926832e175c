"""Which spec model validates which (kind, provider type), and each provider's config model."""

from __future__ import annotations

from reconciler.models import dashscope, dashscope_samples, imgopen, wavespeed, wavespeed_samples
from reconciler.models.connections import ProviderConfig
from reconciler.models.kinds import Kind, ProviderType
from reconciler.models.specs import ResourceSpec

PROVIDER_SPECS: dict[ProviderType, type[ProviderConfig]] = {
    ProviderType.DASHSCOPE: dashscope.DashScopeProvider,
    ProviderType.WAVESPEED: wavespeed.WaveSpeedProvider,
    ProviderType.IMGOPEN: imgopen.ImgOpenProvider,
}

SPEC_MODELS: dict[tuple[Kind, ProviderType], type[ResourceSpec]] = {
    (Kind.DATASET, ProviderType.DASHSCOPE): dashscope.DashScopeDataset,
    (Kind.FINE_TUNE, ProviderType.DASHSCOPE): dashscope.DashScopeFineTune,
    (Kind.CHECKPOINT_EXPORT, ProviderType.DASHSCOPE): dashscope.DashScopeCheckpointExport,
    (Kind.DEPLOYMENT, ProviderType.DASHSCOPE): dashscope.DashScopeDeployment,
    (Kind.SAMPLE, ProviderType.DASHSCOPE): dashscope_samples.DashScopeSample,
    (Kind.DATASET, ProviderType.WAVESPEED): wavespeed.WaveSpeedDataset,
    (Kind.FINE_TUNE, ProviderType.WAVESPEED): wavespeed.WaveSpeedFineTune,
    (Kind.SAMPLE, ProviderType.WAVESPEED): wavespeed_samples.WaveSpeedSample,
    (Kind.DATASET, ProviderType.IMGOPEN): imgopen.ImgOpenDataset,
    (Kind.FINE_TUNE, ProviderType.IMGOPEN): imgopen.ImgOpenFineTune,
}


def spec_model(kind: Kind, provider_type: ProviderType) -> type[ResourceSpec] | None:
    return SPEC_MODELS.get((kind, provider_type))
