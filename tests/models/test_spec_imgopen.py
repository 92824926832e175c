"""ImgOpen specs: provider credentials, image URL lists and the camelCase training fields."""

from __future__ import annotations

import pytest

from reconciler.models.imgopen import ImgOpenDataset, ImgOpenFineTune, ImgOpenProvider

URLS = [f"https://img.example/{i}.png" for i in range(10)]


def test_provider_defaults_and_envs():
    provider = ImgOpenProvider.model_validate({"type": "imgopen"})
    assert provider.endpoint == "https://api.zhiqite.com"
    assert provider.credential_envs() == {
        "access_key_id": "IMGOPEN_ACCESS_KEY_ID",
        "access_key_secret": "IMGOPEN_ACCESS_KEY_SECRET",
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"access_key_secret": "s3cr3t-value"},
            [
                (
                    "access_key_secret",
                    "a credential must not be written into a manifest: put it in an environment "
                    "variable and name it in access_key_secret_env",
                )
            ],
        ),
        (
            {"accessKeyId": "AKID123"},
            [
                (
                    "accessKeyId",
                    "a credential must not be written into a manifest: put it in an environment "
                    "variable and name it in access_key_id_env",
                )
            ],
        ),
        (
            {"secret": "x"},
            [
                (
                    "secret",
                    "a credential must not be written into a manifest: put it in an environment "
                    "variable and name it in access_key_secret_env",
                )
            ],
        ),
        (
            {"password": "hunter2"},
            [
                (
                    "password",
                    "a credential must not be written into a manifest: put it in an environment "
                    "variable and name it in access_key_id_env or access_key_secret_env",
                )
            ],
        ),
        (
            {"access_key_secret_env": "a8Fj3kLm9Qz2Xw7Vb4Nc6Rt1"},
            [
                (
                    "access_key_secret_env",
                    "must name an environment variable (letters, digits and _, not starting "
                    "with a digit), not hold the credential itself: put the secret in an environment variable and name "
                    "it in access_key_secret_env",
                )
            ],
        ),
        (
            {"endpoint": "sandbox", "sandbox": {"time_scale": 0}},
            [("sandbox.time_scale", "must be > 0 (got 0)")],
        ),
    ],
)
def test_provider_rules(errors_of, data, expected):
    errors = errors_of(ImgOpenProvider, {"type": "imgopen", **data})
    assert errors == expected
    for key, value in data.items():
        if key != "sandbox" and isinstance(value, str):
            assert all(value not in message for _, message in errors)


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        (URLS[:9], [("urls", "must have at least 10 items (got 9)")]),
        (URLS * 10 + ["https://img.example/x.png"], [("urls", "must have at most 100 items (got 101)")]),
        (
            URLS[:9] + ["ftp://img.example/9.png"],
            [("urls[9]", "must be an http(s) URL (got 'ftp://img.example/9.png')")],
        ),
        (URLS[:9] + ["9.png"], [("urls[9]", "must be an http(s) URL (got '9.png')")]),
        (URLS[:9] + [URLS[0]], [("urls[9]", "duplicate URL 'https://img.example/0.png'")]),
        (URLS[:9] + [3], [("urls[9]", "must be a string (got 3)")]),
    ],
)
def test_dataset_rules(errors_of, urls, expected):
    assert errors_of(ImgOpenDataset, {"provider": "io", "urls": urls}) == expected


def test_dataset_accepts_http_and_https(errors_of):
    urls = URLS[:5] + [u.replace("https", "http") for u in URLS[5:]]
    assert errors_of(ImgOpenDataset, {"provider": "io", "urls": urls}) == []


FT = {"provider": "io", "dataset": "faces"}


def test_finetune_defaults_and_request():
    spec = ImgOpenFineTune.model_validate(FT)
    assert spec.training_request() == {
        "maxEpochs": 20,
        "batchSize": 1,
        "learningRate": "0.00001",
        "maxTokenLength": 225,
        "clipSkip": 1,
        "pretrainedModel": "v1-5-pruned-emaonly",
        "repeats": 10,
    }


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (1e-5, "0.00001"),
        ("1e-5", "0.00001"),
        ("0.00001", "0.00001"),
        (0.0001, "0.0001"),
        ("1E-7", "0.0000001"),
        (" 2e-6 ", "0.000002"),
        ("0.000050", "0.00005"),
    ],
)
def test_learning_rate_normalised_to_decimal_string(given, stored):
    assert ImgOpenFineTune.model_validate({**FT, "learningRate": given}).learningRate == stored


def test_all_documented_fields_accepted():
    data = {
        **FT,
        "maxEpochs": 50,
        "batchSize": 4,
        "learningRate": "0.0001",
        "maxTokenLength": 150,
        "clipSkip": 5,
        "randomCrop": True,
        "pretrainedModel": "sd15",
        "repeats": 30,
        "mixedPrecision": "bf16",
        "savePrecision": "float",
        "numCpuThreadsPerProcess": 20,
        "seed": 1234,
        "cacheLatents": True,
        "cacheLatentsToDisk": False,
        "lrScheduler": "constant",
        "lrWarmupSteps": 100,
        "optimizerType": "Lion",
        "resolution": 384,
        "enableBucket": True,
        "minBucketReso": 256,
        "maxBucketReso": 2048,
        "textEncoderLr": "5e-05",
        "unetLr": 0.0001,
        "networkDropout": 0,
        "rankDropout": 1,
        "moduleDropout": 0.5,
        "networkModule": "networks.lora",
        "networkDim": 128,
        "networkAlpha": 128,
        "networkArgs": "",
        "v2": False,
        "flipAug": False,
        "colorAug": True,
        "gradientAccumulationSteps": 2,
        "noiseOffset": 0.05,
    }
    request = ImgOpenFineTune.model_validate(data).training_request()
    assert request["textEncoderLr"] == "0.00005"
    assert request["unetLr"] == "0.0001"
    assert set(request) == set(data) - {"provider", "dataset"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("maxEpochs", 9, "must be ≥ 10 (got 9)"),
        ("maxEpochs", 51, "must be ≤ 50 (got 51)"),
        ("batchSize", 0, "must be ≥ 1 (got 0)"),
        ("batchSize", 5, "must be ≤ 4 (got 5)"),
        ("learningRate", "0.001", "must be between 0.0000001 and 0.0001 (got 0.001)"),
        ("learningRate", 1e-8, "must be between 0.0000001 and 0.0001 (got 0.00000001)"),
        ("learningRate", "fast", "must be a number (got 'fast')"),
        ("learningRate", "nan", "must be a finite number (got 'nan')"),
        ("maxTokenLength", 200, "must be one of: 0, 150, 225 (got 200)"),
        ("clipSkip", 0, "must be ≥ 1 (got 0)"),
        ("clipSkip", 6, "must be ≤ 5 (got 6)"),
        ("repeats", 0, "must be ≥ 1 (got 0)"),
        ("repeats", 31, "must be ≤ 30 (got 31)"),
        ("mixedPrecision", "fp32", "must be one of: fp16, bf16 (got 'fp32')"),
        ("savePrecision", "fp8", "must be one of: fp16, bf16, float (got 'fp8')"),
        ("numCpuThreadsPerProcess", 0, "must be ≥ 1 (got 0)"),
        ("numCpuThreadsPerProcess", 21, "must be ≤ 20 (got 21)"),
        ("lrWarmupSteps", -1, "must be ≥ 0 (got -1)"),
        ("lrWarmupSteps", 101, "must be ≤ 100 (got 101)"),
        (
            "optimizerType",
            "adamw",
            "must be one of: AdamW, AdamW8bit, PagedAdamW8bit, Lion8bit, PagedLion8bit, "
            "Lion, SGDNesterov, SGDNesterov8bit, DAdaptation, DAdaptAdaGrad, DAdaptAdam, DAdaptAdan, DAdaptAdanIP, "
            "DAdaptLion, DAdaptSGD, AdaFactor (got 'adamw')",
        ),
        ("networkDropout", 1.5, "must be ≤ 1 (got 1.5)"),
        ("rankDropout", -0.1, "must be ≥ 0 (got -0.1)"),
        ("moduleDropout", 2, "must be ≤ 1 (got 2)"),
        ("noiseOffset", -1, "must be ≥ 0 (got -1)"),
        ("textEncoderLr", "0", "must be a number > 0 (got 0)"),
        ("unetLr", "abc", "must be a number (got 'abc')"),
        ("pretrainedModel", "", "must not be empty"),
        ("randomCrop", "sometimes", "must be true or false (got 'sometimes')"),
        ("seed", -1, "must be ≥ 0 (got -1)"),
        ("max_epochs", 20, "unknown field 'max_epochs' — did you mean 'maxEpochs'?"),
        ("file_url_list", [], "unknown field 'file_url_list'"),
    ],
)
def test_finetune_rules(errors_of, field, value, message):
    assert errors_of(ImgOpenFineTune, {**FT, field: value}) == [(field, message)]


def test_bucket_order(errors_of):
    assert errors_of(ImgOpenFineTune, {**FT, "minBucketReso": 1024, "maxBucketReso": 512}) == [
        ("minBucketReso", "must be ≤ maxBucketReso = 512 (got 1024)")
    ]
