"""humanize(): paths, wording, suggestions and never echoing credentials."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reconciler.models.connections import ENV_NAME_PATTERN
from reconciler.models.dashscope import DashScopeFineTune, DashScopeProvider
from reconciler.models.imgopen import ImgOpenProvider
from reconciler.models.messages import format_path, humanize, humanize_all


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lora_rank: int = Field(32, le=128)


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("x", min_length=2, max_length=4)
    count: int = 1
    ratio: float = Field(0.5, gt=0, lt=1)
    flag: bool = False
    mode: Literal["a", "b", "c"] = "a"
    items: list[str] = Field(default_factory=list, min_length=0, max_length=2)
    inner: Inner = Field(default_factory=Inner)
    inners: list[Inner] = Field(default_factory=list)
    step: int = Field(2, multiple_of=2)
    custom: str = "ok"
    api_key_env: str = Field("K", pattern=ENV_NAME_PATTERN)

    @field_validator("custom")
    @classmethod
    def _custom(cls, value: str) -> str:
        if value == "bad":
            raise ValueError("Must not be 'bad'; use 'good'")
        return value


def one(data: dict, hint=Sample) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return humanize(errors[0], hint)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"inner": {"lora_rank": 200}}, ("inner.lora_rank", "must be ≤ 128 (got 200)")),
        ({"inners": [{}, {"lora_rank": 129}]}, ("inners[1].lora_rank", "must be ≤ 128 (got 129)")),
        ({"mode": "x"}, ("mode", "must be one of: a, b, c (got 'x')")),
        ({"count": "abc"}, ("count", "must be an integer (got 'abc')")),
        ({"count": 1.5}, ("count", "must be a whole number (got 1.5)")),
        ({"count": [1]}, ("count", "must be an integer (got a list)")),
        ({"ratio": "x"}, ("ratio", "must be a number (got 'x')")),
        ({"ratio": 0}, ("ratio", "must be > 0 (got 0)")),
        ({"ratio": 1.0}, ("ratio", "must be < 1 (got 1.0)")),
        ({"flag": "perhaps"}, ("flag", "must be true or false (got 'perhaps')")),
        ({"name": 5}, ("name", "must be a string (got 5)")),
        ({"name": "a"}, ("name", "must have at least 2 characters (got 1)")),
        ({"name": "abcde"}, ("name", "must have at most 4 characters (got 5)")),
        ({"items": ["a", "b", "c"]}, ("items", "must have at most 2 items (got 3)")),
        ({"items": {"a": 1}}, ("items", "must be a list (got a mapping)")),
        ({"inner": "x"}, ("inner", "must be a mapping (got 'x')")),
        ({"step": 3}, ("step", "must be a multiple of 2 (got 3)")),
        ({"custom": "bad"}, ("custom", "must not be 'bad'; use 'good'")),
        (
            {"inner": {"lora_rnk": 1}},
            ("inner.lora_rnk", "unknown field 'lora_rnk' — did you mean 'lora_rank'?"),
        ),
        ({"Count": 1}, ("Count", "unknown field 'Count' — did you mean 'count'?")),
        (
            {"zzz": 1},
            (
                "zzz",
                "unknown field 'zzz' (allowed: api_key_env, count, custom, flag, inner, inners, items, mode, "
                "name, ratio, step)",
            ),
        ),
        ({"name": "x" * 100}, ("name", "must have at most 4 characters (got 100)")),
        ({"mode": "x" * 100}, ("mode", "must be one of: a, b, c (got '" + "x" * 59 + "…')")),
    ],
)
def test_humanize(data, expected):
    assert one(data) == expected


def test_unknown_field_without_hint_and_with_field_names():
    assert one({"lora_rnk": 1}, hint=None) == ("lora_rnk", "unknown field 'lora_rnk'")
    assert one({"cout": 1}, hint=["count", "name"]) == (
        "cout",
        "unknown field 'cout' — did you mean 'count'?",
    )


def test_missing():
    with pytest.raises(ValidationError) as caught:
        DashScopeFineTune.model_validate({"provider": "p", "model": "wan2.6-i2v"})
    assert humanize_all(caught.value, DashScopeFineTune) == [("training_datasets", "is required")]


def test_credential_field_values_are_never_echoed():
    # a wrong pattern on an *_env field must not repeat what was written there
    assert one({"api_key_env": "sk-live-123!"}) == (
        "api_key_env",
        "must be an environment variable name: letters, digits and _, not starting with a digit",
    )


@pytest.mark.parametrize(
    ("model", "data", "secret"),
    [
        (
            DashScopeProvider,
            {"type": "dashscope", "endpoint": "intl", "api_key": "sk-abcdef123456"},
            "sk-abcdef123456",
        ),
        (DashScopeProvider, {"type": "dashscope", "endpoint": "intl", "api_key_env": 123456789}, "123456789"),
        (DashScopeProvider, {"type": "dashscope", "endpoint": "intl", "apikey": ["sk-x1y2z3"]}, "sk-x1y2z3"),
        (ImgOpenProvider, {"type": "imgopen", "access_key_secret_env": "x/y+z=secret=="}, "x/y+z=secret=="),
    ],
)
def test_provider_errors_never_contain_the_secret(model, data, secret):
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert secret not in str(caught.value)
    for path, message in humanize_all(caught.value, model):
        assert secret not in message and secret not in path


def test_unknown_credential_key_in_a_resource_spec():
    with pytest.raises(ValidationError) as caught:
        DashScopeFineTune.model_validate(
            {"provider": "p", "model": "wan2.6-i2v", "training_datasets": ["d"], "api_key": "sk-zzz999"}
        )
    assert humanize_all(caught.value, DashScopeFineTune) == [
        (
            "api_key",
            "unknown field 'api_key'; credentials belong in environment variables named by the Provider",
        )
    ]


@pytest.mark.parametrize(
    ("loc", "path"),
    [((), ""), (("a",), "a"), (("a", "b"), "a.b"), (("a", 0), "a[0]"), (("a", 0, "b", 1), "a[0].b[1]")],
)
def test_format_path(loc, path):
    assert format_path(loc) == path


def test_pydantic_union_tags_are_dropped_from_paths():
    error = {"type": "int_parsing", "loc": ("a", "function-after[f(), int]", "b"), "msg": "x", "input": "q"}
    assert humanize(error) == ("a.b", "must be an integer (got 'q')")


def test_unknown_error_type_falls_back_to_pydantic_text():
    error = {"type": "uuid_parsing", "loc": ("id",), "msg": "Input should be a valid UUID", "input": "x"}
    assert humanize(error) == ("id", "must be a valid UUID (got 'x')")
