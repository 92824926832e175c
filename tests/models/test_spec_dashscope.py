"""DashScope specs: every validation rule with its message, defaults and the effective spec."""

from __future__ import annotations

import pytest

from reconciler.models.dashscope import (
    WAN_MODELS,
    DashScopeCheckpointExport,
    DashScopeDataset,
    DashScopeDeployment,
    DashScopeFineTune,
    DashScopeProvider,
    dashscope_base_url,
)
from reconciler.models.faults import SandboxOptions

# ---------------------------------------------------------------------------------------------
# Provider

PROVIDER = {"type": "dashscope", "endpoint": "https://dashscope-intl.aliyuncs.com"}


@pytest.mark.parametrize(
    "endpoint",
    [
        "sandbox",
        "intl",
        "ap-southeast-1",
        "cn-beijing",
        "cn-hongkong",
        "https://dashscope-intl.aliyuncs.com",
        "https://dashscope.aliyuncs.com/",
        "https://llm-abc.ap-southeast-1.maas.aliyuncs.com",
        "http://localhost:8900",
        "http://127.0.0.1:8900",
        "http://[::1]:8900",
    ],
)
def test_provider_accepts_endpoint(errors_of, endpoint):
    assert errors_of(DashScopeProvider, {**PROVIDER, "endpoint": endpoint}) == []


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (
            "http://dashscope.aliyuncs.com",
            "http:// is only allowed for localhost, 127.0.0.1 or ::1; use https:// for dashscope.aliyuncs.com",
        ),
        (
            "us-east-1",
            "must be 'sandbox', an https:// URL or http:// on localhost, or a region: "
            "intl, ap-southeast-1, cn-beijing, cn-hongkong",
        ),
        (
            "https://dashscope-intl.aliyuncs.com/api/v1",
            "must be the host root without a path (drop '/api/v1')",
        ),
        (
            "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
            "must be the host root without a path (drop '/compatible-mode/v1')",
        ),
        ("https://example.com/x", "must be the host root without a path (drop '/x')"),
        (
            "https://user:pw@dashscope.aliyuncs.com",
            "must not contain credentials; name the environment variable that holds them instead",
        ),
        ("https://dashscope.aliyuncs.com?x=1", "must not contain a query or fragment"),
    ],
)
def test_provider_rejects_endpoint(errors_of, endpoint, message):
    assert errors_of(DashScopeProvider, {**PROVIDER, "endpoint": endpoint}) == [("endpoint", message)]


@pytest.mark.parametrize(
    ("endpoint", "base"),
    [
        ("intl", "https://dashscope-intl.aliyuncs.com"),
        ("ap-southeast-1", "https://dashscope-intl.aliyuncs.com"),
        ("cn-beijing", "https://dashscope.aliyuncs.com"),
        ("cn-hongkong", "https://cn-hongkong.dashscope.aliyuncs.com"),
        ("https://dashscope.aliyuncs.com/", "https://dashscope.aliyuncs.com"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("sandbox", "sandbox"),
    ],
)
def test_dashscope_base_url(endpoint, base):
    assert dashscope_base_url(endpoint) == base
    assert DashScopeProvider.model_validate({**PROVIDER, "endpoint": endpoint}).base_url == base


def test_provider_defaults_and_credential_envs():
    provider = DashScopeProvider.model_validate(PROVIDER)
    assert provider.api_key_env == "DASHSCOPE_API_KEY"
    assert provider.credential_envs() == {"api_key": "DASHSCOPE_API_KEY"}
    assert not provider.is_sandbox
    with_ws = DashScopeProvider.model_validate(
        {**PROVIDER, "api_key_env": "KEY_INTL", "workspace_env": "DS_WS"}
    )
    assert with_ws.credential_envs() == {"api_key": "KEY_INTL", "workspace": "DS_WS"}


SECRET = "sk-0123456789abcdef0123456789abcdef"
ENV_NAME_ERROR = (
    "must name an environment variable (letters, digits and _, not starting with a digit), not hold the "
    "credential itself: put the secret in an environment variable and name it in {}"
)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"api_key": SECRET},
            [
                (
                    "api_key",
                    "a credential must not be written into a manifest: put it in an environment "
                    "variable and name it in api_key_env",
                )
            ],
        ),
        (
            {"apiKey": SECRET},
            [
                (
                    "apiKey",
                    "a credential must not be written into a manifest: put it in an environment "
                    "variable and name it in api_key_env",
                )
            ],
        ),
        (
            {"token": SECRET},
            [
                (
                    "token",
                    "a credential must not be written into a manifest: put it in an environment "
                    "variable and name it in api_key_env",
                )
            ],
        ),
        ({"api_key_env": SECRET}, [("api_key_env", ENV_NAME_ERROR.format("api_key_env"))]),
        ({"api_key_env": "my key"}, [("api_key_env", ENV_NAME_ERROR.format("api_key_env"))]),
        ({"api_key_env": "1KEY"}, [("api_key_env", ENV_NAME_ERROR.format("api_key_env"))]),
        ({"workspace_env": "llm-abc123"}, [("workspace_env", ENV_NAME_ERROR.format("workspace_env"))]),
        ({"api_key_env": ""}, [("api_key_env", "must be the name of an environment variable, not empty")]),
        ({"api_key_env": 42}, [("api_key_env", "must be the name of an environment variable (a string)")]),
    ],
)
def test_provider_refuses_inline_credentials_without_echoing_them(errors_of, extra, expected):
    errors = errors_of(DashScopeProvider, {**PROVIDER, **extra})
    assert errors == expected
    for value in extra.values():
        assert all(str(value) not in message for _, message in errors if value)


def test_inline_credential_is_reported_with_other_errors_and_never_in_str():
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        DashScopeProvider.model_validate({"type": "dashscope", "endpoint": "ftp://x", "api_key": SECRET})
    assert [e["loc"] for e in caught.value.errors()] == [("endpoint",), ("api_key",)]
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.errors())


def test_sandbox_options_only_with_sandbox_endpoint(errors_of):
    assert errors_of(DashScopeProvider, {**PROVIDER, "sandbox": {"time_scale": 100}}) == [
        ("sandbox", "is only allowed when endpoint is 'sandbox'")
    ]
    provider = DashScopeProvider.model_validate(
        {**PROVIDER, "endpoint": "sandbox", "sandbox": {"time_scale": 100}}
    )
    assert provider.is_sandbox
    assert isinstance(provider.sandbox, SandboxOptions)


def test_provider_type_and_unknown_field(errors_of):
    assert errors_of(DashScopeProvider, {**PROVIDER, "type": "wavespeed", "endpont": "x"}) == [
        ("type", "must be one of: dashscope (got 'wavespeed')"),
        ("endpont", "unknown field 'endpont' — did you mean 'endpoint'?"),
    ]
    assert errors_of(DashScopeProvider, {"type": "dashscope"}) == [("endpoint", "is required")]


# ---------------------------------------------------------------------------------------------
# Dataset


def test_dataset_defaults():
    dataset = DashScopeDataset.model_validate({"provider": "ds", "source": "data/train"})
    assert dataset.model_dump() == {
        "provider": "ds",
        "source": "data/train",
        "format": None,
        "role": "training",
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"source": ""}, [("source", "must not be empty")]),
        ({"source": None}, [("source", "must be a string (got null)")]),
        ({"format": "t2v"}, [("format", "must be one of: i2v, kf2v (got 't2v')")]),
        ({"role": "test"}, [("role", "must be one of: training, validation (got 'test')")]),
        (
            {"provider": "DS"},
            [
                (
                    "provider",
                    "must be a name of lower-case letters, digits and '-', starting and ending with a "
                    "letter or digit, at most 63 characters (got 'DS')",
                )
            ],
        ),
        ({"sorce": "x"}, [("sorce", "unknown field 'sorce' — did you mean 'source'?")]),
    ],
)
def test_dataset_rules(errors_of, data, expected):
    assert errors_of(DashScopeDataset, {"provider": "ds", "source": "data/train", **data}) == expected


# ---------------------------------------------------------------------------------------------
# FineTune

FT = {"provider": "ds", "model": "wan2.5-i2v-preview", "training_datasets": ["train"]}


@pytest.mark.parametrize(
    ("model", "batch_size", "max_pixels"),
    [
        ("wan2.6-i2v", 2, 36864),
        ("wan2.5-i2v-preview", 2, 36864),
        ("wan2.2-i2v-flash", 4, 262144),
        ("wan2.2-kf2v-flash", 4, 262144),
    ],
)
def test_finetune_effective_spec_has_model_defaults(model, batch_size, max_pixels):
    spec = DashScopeFineTune.model_validate({**FT, "model": model})
    assert spec.model_dump(mode="json") == {
        "provider": "ds",
        "model": model,
        "training_datasets": ["train"],
        "validation_datasets": [],
        "training_type": "efficient_sft",
        "hyper_parameters": {
            "batch_size": batch_size,
            "n_epochs": 400,
            "learning_rate": 2e-05,
            "eval_epochs": 50,
            "max_pixels": max_pixels,
            "split": 0.9,
            "max_split_val_dataset_sample": 5,
            "save_total_limit": 20,
            "lora_rank": 32,
            "lora_alpha": 32,
        },
    }
    assert spec.format == ("kf2v" if "kf2v" in model else "i2v")


def test_finetune_eval_epochs_default_follows_n_epochs():
    spec = DashScopeFineTune.model_validate({**FT, "hyper_parameters": {"n_epochs": 1200}})
    assert spec.hyper_parameters.eval_epochs == 120
    spec = DashScopeFineTune.model_validate({**FT, "hyper_parameters": {"n_epochs": 100}})
    assert spec.hyper_parameters.eval_epochs == 50


def test_finetune_learning_rate_accepts_yaml_string_exponent():
    # PyYAML reads `2e-5` (no dot) as a string; it must still mean 2e-5
    spec = DashScopeFineTune.model_validate({**FT, "hyper_parameters": {"learning_rate": "1e-4"}})
    assert spec.hyper_parameters.learning_rate == 1e-4


@pytest.mark.parametrize(
    ("model", "hp", "expected"),
    [
        (
            "wan2.5-i2v-preview",
            {"batch_size": 4},
            ("batch_size", "is fixed at 2 for wan2.5-i2v-preview (got 4)"),
        ),
        ("wan2.6-i2v", {"batch_size": 1}, ("batch_size", "is fixed at 2 for wan2.6-i2v (got 1)")),
        ("wan2.2-i2v-flash", {"batch_size": 2}, ("batch_size", "is fixed at 4 for wan2.2-i2v-flash (got 2)")),
        (
            "wan2.2-kf2v-flash",
            {"batch_size": 8},
            ("batch_size", "is fixed at 4 for wan2.2-kf2v-flash (got 8)"),
        ),
        ("wan2.5-i2v-preview", {"batch_size": 0}, ("batch_size", "must be ≥ 1 (got 0)")),
        (
            "wan2.5-i2v-preview",
            {"max_pixels": 262144},
            ("max_pixels", "must be between 16384 and 36864 for wan2.5-i2v-preview (got 262144)"),
        ),
        (
            "wan2.6-i2v",
            {"max_pixels": 16383},
            ("max_pixels", "must be between 16384 and 36864 for wan2.6-i2v (got 16383)"),
        ),
        (
            "wan2.2-i2v-flash",
            {"max_pixels": 36864},
            ("max_pixels", "must be between 65536 and 262144 for wan2.2-i2v-flash (got 36864)"),
        ),
        (
            "wan2.2-kf2v-flash",
            {"max_pixels": 262145},
            ("max_pixels", "must be between 65536 and 262144 for wan2.2-kf2v-flash (got 262145)"),
        ),
        (
            "wan2.5-i2v-preview",
            {"n_epochs": 400, "eval_epochs": 39},
            ("eval_epochs", "must be ≥ n_epochs/10 = 40 (got 39)"),
        ),
        (
            "wan2.5-i2v-preview",
            {"n_epochs": 1001, "eval_epochs": 100},
            ("eval_epochs", "must be ≥ n_epochs/10 = 101 (got 100)"),
        ),
        ("wan2.5-i2v-preview", {"eval_epochs": 0}, ("eval_epochs", "must be ≥ 1 (got 0)")),
        ("wan2.5-i2v-preview", {"n_epochs": 0}, ("n_epochs", "must be ≥ 1 (got 0)")),
        ("wan2.5-i2v-preview", {"n_epochs": "many"}, ("n_epochs", "must be an integer (got 'many')")),
        ("wan2.5-i2v-preview", {"n_epochs": 2.5}, ("n_epochs", "must be a whole number (got 2.5)")),
        ("wan2.5-i2v-preview", {"learning_rate": 0}, ("learning_rate", "must be > 0 (got 0)")),
        ("wan2.5-i2v-preview", {"learning_rate": 1.5}, ("learning_rate", "must be < 1 (got 1.5)")),
        ("wan2.5-i2v-preview", {"learning_rate": "fast"}, ("learning_rate", "must be a number (got 'fast')")),
        ("wan2.5-i2v-preview", {"split": 0}, ("split", "must be > 0 (got 0)")),
        ("wan2.5-i2v-preview", {"split": 1}, ("split", "must be < 1 (got 1)")),
        (
            "wan2.5-i2v-preview",
            {"max_split_val_dataset_sample": 0},
            ("max_split_val_dataset_sample", "must be ≥ 1 (got 0)"),
        ),
        ("wan2.5-i2v-preview", {"save_total_limit": 0}, ("save_total_limit", "must be ≥ 1 (got 0)")),
        ("wan2.5-i2v-preview", {"lora_rank": 48}, ("lora_rank", "must be a power of two (got 48)")),
        ("wan2.5-i2v-preview", {"lora_alpha": 24}, ("lora_alpha", "must be a power of two (got 24)")),
        ("wan2.5-i2v-preview", {"lora_rank": 0}, ("lora_rank", "must be ≥ 1 (got 0)")),
        ("wan2.5-i2v-preview", {"lora_rank": 2048}, ("lora_rank", "must be ≤ 1024 (got 2048)")),
        (
            "wan2.5-i2v-preview",
            {"lora_rnk": 16},
            ("lora_rnk", "unknown field 'lora_rnk' — did you mean 'lora_rank'?"),
        ),
    ],
)
def test_finetune_hyper_parameter_rules(errors_of, model, hp, expected):
    field, message = expected
    assert errors_of(DashScopeFineTune, {**FT, "model": model, "hyper_parameters": hp}) == [
        (f"hyper_parameters.{field}", message)
    ]


@pytest.mark.parametrize("rank", [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
def test_powers_of_two_accepted(rank):
    spec = DashScopeFineTune.model_validate(
        {**FT, "hyper_parameters": {"lora_rank": rank, "lora_alpha": rank}}
    )
    assert spec.hyper_parameters.lora_rank == rank


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"model": "wan2.1-t2v"},
            [
                (
                    "model",
                    "must be one of: wan2.6-i2v, wan2.5-i2v-preview, wan2.2-i2v-flash, "
                    "wan2.2-kf2v-flash (got 'wan2.1-t2v')",
                )
            ],
        ),
        ({"training_datasets": []}, [("training_datasets", "must have at least 1 item (got 0)")]),
        ({"training_datasets": "train"}, [("training_datasets", "must be a list (got 'train')")]),
        ({"training_datasets": ["a", "a"]}, [("training_datasets[1]", "'a' is listed twice")]),
        ({"validation_datasets": ["v", "v"]}, [("validation_datasets[1]", "'v' is listed twice")]),
        (
            {"validation_datasets": ["train"]},
            [("validation_datasets[0]", "'train' is also a training dataset; a dataset cannot be both")],
        ),
        ({"training_type": "sft"}, [("training_type", "must be one of: efficient_sft (got 'sft')")]),
        ({"hyper_parameters": [1]}, [("hyper_parameters", "must be a mapping (got a list)")]),
        (
            {"training_datasets": ["Train_1"]},
            [
                (
                    "training_datasets[0]",
                    "must be a name of lower-case letters, digits "
                    "and '-', starting and ending with a letter or digit, at most 63 characters (got 'Train_1')",
                )
            ],
        ),
        (
            {"model": None},
            [
                (
                    "model",
                    "must be one of: wan2.6-i2v, wan2.5-i2v-preview, wan2.2-i2v-flash, "
                    "wan2.2-kf2v-flash (got null)",
                )
            ],
        ),
    ],
)
def test_finetune_rules(errors_of, data, expected):
    assert errors_of(DashScopeFineTune, {**FT, **data}) == expected


def test_finetune_required_fields(errors_of):
    assert errors_of(DashScopeFineTune, {}) == [
        ("provider", "is required"),
        ("model", "is required"),
        ("training_datasets", "is required"),
    ]


def test_finetune_reports_several_rule_errors_at_once(errors_of):
    errors = errors_of(
        DashScopeFineTune,
        {**FT, "model": "wan2.2-i2v-flash", "hyper_parameters": {"batch_size": 2, "max_pixels": 1000}},
    )
    assert [path for path, _ in errors] == ["hyper_parameters.batch_size", "hyper_parameters.max_pixels"]


@pytest.mark.parametrize(
    ("model", "samples", "n_epochs", "steps"),
    [
        ("wan2.5-i2v-preview", 5, 400, 1200),  # ceil(5/2)=3
        ("wan2.5-i2v-preview", 4, 267, 534),
        ("wan2.2-i2v-flash", 5, 400, 800),  # ceil(5/4)=2
        ("wan2.2-kf2v-flash", 20, 100, 500),
        ("wan2.6-i2v", 1, 10, 10),
    ],
)
def test_training_steps(model, samples, n_epochs, steps):
    spec = DashScopeFineTune.model_validate(
        {**FT, "model": model, "hyper_parameters": {"n_epochs": n_epochs}}
    )
    assert spec.training_steps(samples) == steps


def test_wan_model_table_matches_enum():
    import typing

    from reconciler.models.dashscope import WanModel

    assert set(typing.get_args(WanModel)) == set(WAN_MODELS)


def test_references():
    spec = DashScopeFineTune.model_validate(
        {**FT, "training_datasets": ["a", "b"], "validation_datasets": ["v"]}
    )
    assert list(spec.references()) == [
        ("training_datasets[0]", "Dataset", "a"),
        ("training_datasets[1]", "Dataset", "b"),
        ("validation_datasets[0]", "Dataset", "v"),
    ]


# ---------------------------------------------------------------------------------------------
# CheckpointExport

EXPORT = {
    "provider": "ds",
    "fine_tune": "money-rain",
    "checkpoint": "checkpoint-160",
    "model_name": "money_rain-c160",
}


@pytest.mark.parametrize("model_name", ["money_rain-c160", "金钱雨-160", "A"])
def test_export_accepts(errors_of, model_name):
    assert errors_of(DashScopeCheckpointExport, {**EXPORT, "model_name": model_name}) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"checkpoint": "160"}, ("checkpoint", "must name a checkpoint like checkpoint-160 (got '160')")),
        (
            {"checkpoint": "checkpoint-"},
            ("checkpoint", "must name a checkpoint like checkpoint-160 (got 'checkpoint-')"),
        ),
        (
            {"model_name": "money rain!"},
            ("model_name", "may contain only letters, digits, CJK characters, _ and - (got 'money rain!')"),
        ),
        ({"model_name": ""}, ("model_name", "must not be empty")),
        ({"model_name": "x" * 65}, ("model_name", "must have at most 64 characters (got 65)")),
        ({"fine_tune": None}, ("fine_tune", "must be a string (got null)")),
    ],
)
def test_export_rules(errors_of, data, expected):
    assert errors_of(DashScopeCheckpointExport, {**EXPORT, **data}) == [expected]


def test_export_references():
    spec = DashScopeCheckpointExport.model_validate(EXPORT)
    assert list(spec.references()) == [("fine_tune", "FineTune", "money-rain")]


# ---------------------------------------------------------------------------------------------
# Deployment

DEPLOY = {"provider": "ds", "fine_tune": "money-rain", "aigc_config": {}}


def test_deployment_defaults():
    spec = DashScopeDeployment.model_validate(DEPLOY)
    assert spec.model_dump(mode="json") == {
        "provider": "ds",
        "fine_tune": "money-rain",
        "checkpoint_export": None,
        "plan": "lora",
        "capacity": 1,
        "aigc_config": {"use_input_prompt": False, "prompt": None, "lora_prompt_default": None},
        "name": None,
        "suffix": None,
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"fine_tune": None},
            [("fine_tune", "exactly one of fine_tune or checkpoint_export is required")],
        ),
        (
            {"checkpoint_export": "c160"},
            [("checkpoint_export", "give either fine_tune or checkpoint_export, not both")],
        ),
        (
            {"aigc_config": None},
            [("aigc_config", "is required when plan is lora (use {} to accept the defaults)")],
        ),
        ({"plan": "serverless"}, [("plan", "must be one of: lora, mu, cu, ptu (got 'serverless')")]),
        ({"capacity": 0}, [("capacity", "must be ≥ 1 (got 0)")]),
        ({"capacity": 1000}, [("capacity", "must be < 1000 (got 1000)")]),
        (
            {"capacity": 2},
            [
                (
                    "capacity",
                    "capacity applies to plan mu only; for plan lora it is ignored (providers.md §1.6): "
                    "remove it or set 1 (got 2)",
                )
            ],
        ),
        ({"suffix": "toolongxx"}, [("suffix", "must have at most 8 characters (got 9)")]),
        ({"suffix": "Prod"}, [("suffix", "may contain only lower-case letters and digits (got 'Prod')")]),
        ({"name": ""}, [("name", "must not be empty")]),
        (
            {"aigc_config": {"use_input_prompt": "maybe"}},
            [("aigc_config.use_input_prompt", "must be true or false (got 'maybe')")],
        ),
        (
            {"aigc_config": {"promt": "x"}},
            [("aigc_config.promt", "unknown field 'promt' — did you mean 'prompt'?")],
        ),
        ({"aigc_config": {"prompt": ""}}, [("aigc_config.prompt", "must not be empty")]),
    ],
)
def test_deployment_rules(errors_of, data, expected):
    assert errors_of(DashScopeDeployment, {**DEPLOY, **data}) == expected


def test_deployment_from_checkpoint_export_and_other_plans(errors_of):
    assert (
        errors_of(DashScopeDeployment, {"provider": "ds", "checkpoint_export": "c160", "aigc_config": {}})
        == []
    )
    assert (
        errors_of(DashScopeDeployment, {"provider": "ds", "fine_tune": "ft", "plan": "mu", "capacity": 4})
        == []
    )
    spec = DashScopeDeployment.model_validate(
        {"provider": "ds", "checkpoint_export": "c160", "aigc_config": {}}
    )
    assert list(spec.references()) == [("checkpoint_export", "CheckpointExport", "c160")]
