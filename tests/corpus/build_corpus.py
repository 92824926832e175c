#!/usr/bin/env python3
"""Write the broken-manifest corpus: one directory per case with its inputs.

Run from the repository root: `python tests/corpus/build_corpus.py`. Deterministic; the output is
checked in. Each case's `expected.txt` is reviewed by hand (regenerate with
`RECONCILER_UPDATE_CORPUS=1 pytest tests/corpus` after an intended wording change, then read the diff).
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import sys
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = "# yaml-language-server: $schema=../../../schemas/reconciler.json\n"

DS_PROVIDER = """apiVersion: reconciler/v1
kind: Provider
metadata:
  name: ds
spec:
  type: dashscope
  endpoint: sandbox
"""
WS_PROVIDER = """apiVersion: reconciler/v1
kind: Provider
metadata:
  name: ws
spec:
  type: wavespeed
  endpoint: sandbox
"""
IO_PROVIDER = """apiVersion: reconciler/v1
kind: Provider
metadata:
  name: io
spec:
  type: imgopen
  endpoint: sandbox
"""


def png(size: int = 8, rgb: tuple[int, int, int] = (10, 20, 30)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = (b"\x00" + bytes(rgb) * size) * size
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


MP4 = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isommp41"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


def i2v_files(n: int = 10, *, video: bool = True, kf2v: bool = False) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    lines = []
    for i in range(1, n + 1):
        record = {"prompt": f"scene {i}, s86b5p coins fall"}
        if kf2v:
            record["first_frame_path"] = f"image/{i}_first.png"
            record["last_frame_path"] = f"image/{i}_last.png"
            files[f"image/{i}_first.png"] = png()
            files[f"image/{i}_last.png"] = png()
            if video:
                record["video_path"] = f"video/{i}.mp4"
                files[f"video/{i}.mp4"] = MP4
        else:
            record["first_frame_path"] = f"image_{i}.png"
            files[f"image_{i}.png"] = png()
            if video:
                record["video_path"] = f"video_{i}.mp4"
                files[f"video_{i}.mp4"] = MP4
        lines.append(json.dumps(record))
    files["data.jsonl"] = ("\n".join(lines) + "\n").encode()
    return files


def jsonl_replace(files: dict[str, bytes], line: int, record: object | str) -> dict[str, bytes]:
    lines = files["data.jsonl"].decode().splitlines()
    lines[line - 1] = record if isinstance(record, str) else json.dumps(record)
    files["data.jsonl"] = ("\n".join(lines) + "\n").encode()
    return files


def ws_files(n: int = 10) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for i in range(1, n + 1):
        files[f"img_{i:02d}.png"] = png()
        files[f"img_{i:02d}.txt"] = f"p3r5on photo {i}\n".encode()
    return files


class Link(str):
    """A symbolic link to this target (git stores it as a link, mode 120000)."""


def zip_bytes(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info, data in entries:
            if isinstance(info, str):
                info = zipfile.ZipInfo(info, date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, data)
    return buf.getvalue()


def zip_bomb() -> bytes:
    """A tiny zip whose central directory claims 2 GiB of content (never extracted, only listed)."""
    raw = zip_bytes([("data.jsonl", b"{}\n")])
    claimed = struct.pack("<I", 2 * 1024**3)
    # central directory header: signature PK\x01\x02; uncompressed size at offset 24
    cd = raw.index(b"PK\x01\x02")
    raw = raw[: cd + 24] + claimed + raw[cd + 28 :]
    return raw


def symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    return info


# "Billion laughs": 342 bytes whose aliases would expand to 10^9 nodes.
ALIAS_BOMB = "lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def ds_dataset(source: str = "data", extra: str = "") -> str:
    return f"""apiVersion: reconciler/v1
kind: Dataset
metadata:
  name: train
spec:
  provider: ds
  source: {source}
{extra}"""


def ds_finetune(
    model: str = "wan2.5-i2v-preview", extra: str = "  hyper_parameters:\n    n_epochs: 200\n"
) -> str:
    return f"""apiVersion: reconciler/v1
kind: FineTune
metadata:
  name: effect
spec:
  provider: ds
  model: {model}
  training_datasets: [train]
{extra}"""


WS_URL_DATASET = "apiVersion: reconciler/v1\nkind: Dataset\nmetadata: {name: d}\nspec:\n  provider: ws\n  url: https://example.com/d.zip\n"
WS_TRAINING = (
    "apiVersion: reconciler/v1\nkind: FineTune\nmetadata: {name: f}\nspec:\n  provider: ws\n"
    "  trainer: wan-2.2-image-lora-trainer\n  dataset: d\n"
)


def docs(*parts: str) -> str:
    return SCHEMA + "---\n".join(parts)


def ds_case(
    files: dict[str, bytes | Link] | None = None,
    *,
    source: str = "data",
    dataset_extra: str = "",
    model: str = "wan2.5-i2v-preview",
    ft_extra: str | None = None,
    zip_name: str | None = None,
    zip_data: bytes | None = None,
) -> dict[str, str | bytes | Link]:
    case: dict[str, str | bytes | Link] = {}
    ft = ds_finetune(model) if ft_extra is None else ds_finetune(model, ft_extra)
    case["manifest.yaml"] = docs(DS_PROVIDER, ds_dataset(source, dataset_extra), ft)
    if files is not None:
        for name, data in files.items():
            case[f"{source}/{name}"] = data
    if zip_name is not None and zip_data is not None:
        case[zip_name] = zip_data
    return case


CASES: dict[str, dict[str, str | bytes | Link]] = {
    # --- YAML and the envelope ---
    "yaml-syntax-error": {
        "manifest.yaml": SCHEMA + "apiVersion: reconciler/v1\nkind: Provider\nmetadata: {name: ds\nspec: {}\n"
    },
    "yaml-duplicate-key": {
        "manifest.yaml": docs(
            DS_PROVIDER.replace("  endpoint: sandbox\n", "  endpoint: sandbox\n  endpoint: intl\n")
        )
    },
    "yaml-unsupported-tag": {
        "manifest.yaml": docs(DS_PROVIDER.replace("endpoint: sandbox", "endpoint: !env ENDPOINT"))
    },
    "yaml-alias-bomb": {"manifest.yaml": docs(DS_PROVIDER, ALIAS_BOMB)},
    "yaml-self-merge": {
        "manifest.yaml": docs(DS_PROVIDER.replace("spec:\n", "spec: &spec\n") + "  <<: *spec\n")
    },
    "yaml-too-deep": {"manifest.yaml": docs(DS_PROVIDER + "  extra: " + "[" * 200 + "]" * 200 + "\n")},
    "document-not-a-mapping": {"manifest.yaml": SCHEMA + "- apiVersion: reconciler/v1\n- kind: Provider\n"},
    "missing-api-version": {"manifest.yaml": docs(DS_PROVIDER.replace("apiVersion: reconciler/v1\n", ""))},
    "wrong-api-version": {"manifest.yaml": docs(DS_PROVIDER.replace("reconciler/v1", "v1"))},
    "missing-kind": {"manifest.yaml": docs(DS_PROVIDER.replace("kind: Provider\n", ""))},
    "unknown-kind": {"manifest.yaml": docs(DS_PROVIDER.replace("kind: Provider", "kind: Providr"))},
    "missing-metadata": {"manifest.yaml": docs(DS_PROVIDER.replace("metadata:\n  name: ds\n", ""))},
    "invalid-name": {"manifest.yaml": docs(DS_PROVIDER.replace("name: ds", "name: DashScope_Intl"))},
    "unknown-metadata-field": {
        "manifest.yaml": docs(DS_PROVIDER.replace("  name: ds\n", "  name: ds\n  namespace: prod\n"))
    },
    "unknown-top-level-field": {"manifest.yaml": docs(DS_PROVIDER + "specs: {}\n")},
    "missing-spec": {"manifest.yaml": docs(DS_PROVIDER.split("spec:")[0])},
    "spec-not-a-mapping": {"manifest.yaml": docs(DS_PROVIDER.split("spec:")[0] + "spec: [dashscope]\n")},
    "invalid-lifecycle": {
        "manifest.yaml": docs(
            DS_PROVIDER, ds_dataset() + "lifecycle:\n  deletion: keep\n  timeouts: {create: 2 hours}\n"
        ),
        **{f"data/{k}": v for k, v in i2v_files().items()},
    },
    # --- Providers ---
    "provider-missing-type": {"manifest.yaml": docs(DS_PROVIDER.replace("  type: dashscope\n", ""))},
    "provider-unknown-type": {
        "manifest.yaml": docs(DS_PROVIDER.replace("type: dashscope", "type: dashscop"))
    },
    "provider-inline-api-key": {"manifest.yaml": docs(DS_PROVIDER + "  api_key: sk-0123456789abcdef0123\n")},
    "provider-env-holds-secret": {
        "manifest.yaml": docs(DS_PROVIDER + "  api_key_env: sk-0123456789abcdef0123\n")
    },
    "provider-plain-http-endpoint": {
        "manifest.yaml": docs(
            DS_PROVIDER.replace("endpoint: sandbox", "endpoint: http://dashscope.example.com")
        )
    },
    "imgopen-inline-secret": {
        "manifest.yaml": docs(IO_PROVIDER + "  accessKeySecret: abcdEFGH1234ijklMNOP5678\n")
    },
    # --- references ---
    "missing-provider-field": {
        "manifest.yaml": docs(DS_PROVIDER, ds_dataset().replace("  provider: ds\n", ""))
    },
    "unknown-provider": {
        "manifest.yaml": docs(DS_PROVIDER, ds_dataset().replace("provider: ds", "provider: dashscope"))
    },
    "no-provider-defined": {"manifest.yaml": docs(ds_dataset())},
    "provider-cannot-serve": {
        "manifest.yaml": docs(
            WS_PROVIDER,
            "apiVersion: reconciler/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  provider: ws\n  fine_tune: y\n  aigc_config: {}\n",
        )
    },
    "dangling-reference": {
        **ds_case(i2v_files()),
        "manifest.yaml": docs(DS_PROVIDER, ds_dataset(), ds_finetune().replace("[train]", "[train, tran]")),
    },
    "wrong-kind-reference": {
        **ds_case(i2v_files()),
        "deploy.yaml": SCHEMA
        + "apiVersion: reconciler/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  provider: ds\n  fine_tune: train\n  aigc_config: {}\n",
    },
    "cross-provider-reference": {
        **ds_case(i2v_files()),
        "other.yaml": SCHEMA
        + DS_PROVIDER.replace("name: ds", "name: ds-beijing").replace("sandbox", "cn-beijing")
        + "---\napiVersion: reconciler/v1\nkind: CheckpointExport\nmetadata: {name: c}\nspec:\n  provider: ds-beijing\n"
        "  fine_tune: effect\n  checkpoint: checkpoint-250\n  model_name: effect-c250\n",
    },
    "duplicate-names-across-files": {
        "a.yaml": docs(DS_PROVIDER),
        "b.yaml": docs(DS_PROVIDER.replace("sandbox", "intl")),
    },
    # --- spec limits ---
    "unknown-spec-field": {
        **ds_case(i2v_files(), ft_extra="  hyper_parameters:\n    n_epochs: 200\n    lora_rnk: 16\n")
    },
    "wrong-type": {**ds_case(i2v_files(), ft_extra="  hyper_parameters:\n    n_epochs: many\n")},
    "lora-rank-not-power-of-two": {
        **ds_case(i2v_files(), ft_extra="  hyper_parameters:\n    n_epochs: 200\n    lora_rank: 48\n")
    },
    "batch-size-fixed": {
        **ds_case(i2v_files(), ft_extra="  hyper_parameters:\n    n_epochs: 200\n    batch_size: 8\n")
    },
    "eval-epochs-too-small": {
        **ds_case(i2v_files(), ft_extra="  hyper_parameters:\n    n_epochs: 400\n    eval_epochs: 10\n")
    },
    "unknown-model": {**ds_case(i2v_files(), model="wan2.1-i2v")},
    "missing-required-field": {
        **ds_case(i2v_files()),
        "manifest.yaml": docs(
            DS_PROVIDER, ds_dataset(), ds_finetune().replace("  training_datasets: [train]\n", "")
        ),
    },
    "deployment-missing-aigc-config": {
        **ds_case(i2v_files()),
        "deploy.yaml": SCHEMA
        + "apiVersion: reconciler/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  provider: ds\n  fine_tune: effect\n",
    },
    "deployment-lora-capacity": {
        **ds_case(i2v_files()),
        "deploy.yaml": SCHEMA
        + "apiVersion: reconciler/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  provider: ds\n  fine_tune: effect\n"
        "  plan: lora\n  capacity: 2\n  aigc_config: {}\n",
    },
    "deployment-two-sources": {
        **ds_case(i2v_files()),
        "deploy.yaml": SCHEMA
        + "apiVersion: reconciler/v1\nkind: CheckpointExport\nmetadata: {name: c}\nspec:\n  provider: ds\n  fine_tune: effect\n"
        "  checkpoint: checkpoint-250\n  model_name: effect-c250\n---\n"
        "apiVersion: reconciler/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  provider: ds\n  fine_tune: effect\n"
        "  checkpoint_export: c\n  aigc_config: {}\n",
    },
    # 10 samples / batch_size 2 × 12 epochs = 60 steps: checkpoint-600 is never saved
    "checkpoint-never-saved": {
        **ds_case(i2v_files(), ft_extra="  hyper_parameters:\n    n_epochs: 12\n    eval_epochs: 4\n"),
        "export.yaml": SCHEMA
        + "apiVersion: reconciler/v1\nkind: CheckpointExport\nmetadata: {name: c}\nspec:\n  provider: ds\n"
        "  fine_tune: effect\n  checkpoint: checkpoint-600\n  model_name: effect-c600\n",
    },
    "wavespeed-source-and-url": {
        "manifest.yaml": docs(
            WS_PROVIDER,
            "apiVersion: reconciler/v1\nkind: Dataset\nmetadata: {name: d}\nspec:\n  provider: ws\n  source: data\n"
            "  url: https://example.com/d.zip\n",
        ),
        **{f"data/{k}": v for k, v in ws_files().items()},
    },
    "wavespeed-steps-out-of-range": {
        "manifest.yaml": docs(
            WS_PROVIDER,
            "apiVersion: reconciler/v1\nkind: Dataset\nmetadata: {name: d}\nspec:\n  provider: ws\n  url: https://example.com/d.zip\n",
            "apiVersion: reconciler/v1\nkind: FineTune\nmetadata: {name: f}\nspec:\n  provider: ws\n"
            "  trainer: wan-2.2-image-lora-trainer\n  dataset: d\n  steps: 200\n",
        ),
    },
    # Samples (seeds 001, 004): every documented range, and the other model's fields, at file:line
    "sample-wan-out-of-range": {
        "manifest.yaml": docs(
            WS_PROVIDER,
            WS_URL_DATASET,
            WS_TRAINING,
            "apiVersion: reconciler/v1\nkind: Sample\nmetadata: {name: s}\nspec:\n  provider: ws\n  fine_tune: f\n"
            "  model: wan-2.2/t2v-720p-lora-ultra-fast\n  prompt: p3r5on on a turntable\n  size: 1920*1080\n"
            "  duration: 6\n  images: [https://example.com/a.png]\n",
        ),
    },
    "sample-field-ranges": {
        "manifest.yaml": docs(
            WS_PROVIDER,
            WS_URL_DATASET,
            WS_TRAINING,
            "apiVersion: reconciler/v1\nkind: Sample\nmetadata: {name: s}\nspec:\n  provider: ws\n  fine_tune: f\n"
            "  model: wan-2.2/t2v-720p-lora-ultra-fast\n  prompt: p3r5on\n  seed: -2\n  lora_scale: 4.5\n"
            "  extra_loras:\n    - {path: http://example.com/x.safetensors, scale: 1}\n"
            "    - {path: https://example.com/y.safetensors, scale: 5}\n  enable_base64_output: true\n",
        ),
    },
    "sample-qwen-rules": {
        "manifest.yaml": docs(
            WS_PROVIDER,
            WS_URL_DATASET,
            WS_TRAINING,
            "apiVersion: reconciler/v1\nkind: Sample\nmetadata: {name: s}\nspec:\n  provider: ws\n  fine_tune: f\n"
            "  model: qwen-image/edit-plus-lora\n  prompt: p3r5on on marble\n  size: 2048*512\n"
            "  duration: 5\n"
            "  extra_loras:\n    - {path: https://example.com/x.safetensors, scale: 1, target: low_noise_loras}\n",
        ),
    },
    "sample-lora-does-not-fit": {
        "manifest.yaml": docs(
            WS_PROVIDER,
            WS_URL_DATASET,
            WS_TRAINING,
            "apiVersion: reconciler/v1\nkind: Sample\nmetadata: {name: edit}\nspec:\n  provider: ws\n  fine_tune: f\n"
            "  model: qwen-image/edit-plus-lora\n  prompt: p3r5on\n  images: [https://example.com/a.png]\n",
            "apiVersion: reconciler/v1\nkind: Sample\nmetadata: {name: clip}\nspec:\n  provider: ws\n  fine_tune: f\n"
            "  model: wan-2.2/t2v-720p-lora-ultra-fast\n  prompt: p3r5on\n  extra_loras:\n"
            + "".join(
                f"    - {{path: https://example.com/{i}.safetensors, scale: 1, target: high_noise_loras}}\n"
                for i in range(3)
            ),
        ),
    },
    "imgopen-too-few-urls": {
        "manifest.yaml": docs(
            IO_PROVIDER,
            "apiVersion: reconciler/v1\nkind: Dataset\nmetadata: {name: d}\nspec:\n  provider: io\n  urls:\n"
            + "".join(f"    - https://example.com/{i}.png\n" for i in range(3)),
        ),
    },
    "imgopen-bad-enums": {
        "manifest.yaml": docs(
            IO_PROVIDER,
            "apiVersion: reconciler/v1\nkind: Dataset\nmetadata: {name: d}\nspec:\n  provider: io\n  urls:\n"
            + "".join(f"    - https://example.com/{i}.png\n" for i in range(10)),
            "apiVersion: reconciler/v1\nkind: FineTune\nmetadata: {name: f}\nspec:\n  provider: io\n  dataset: d\n"
            "  optimizerType: Adam\n  mixedPrecision: fp32\n  maxEpochs: 5\n",
        ),
    },
    # --- DashScope datasets ---
    "ds-missing-data-jsonl": ds_case({k: v for k, v in i2v_files().items() if k != "data.jsonl"}),
    "ds-data-jsonl-in-subfolder-zip": ds_case(
        source="data.zip",
        zip_name="data.zip",
        zip_data=zip_bytes([(f"money/{k}", v) for k, v in i2v_files().items()]),
    ),
    "ds-invalid-json-line": ds_case(
        jsonl_replace(i2v_files(), 3, '{"prompt": "x", first_frame_path: "image_3.png"}')
    ),
    "ds-line-not-an-object": ds_case(jsonl_replace(i2v_files(), 2, '["prompt"]')),
    "ds-missing-keys": ds_case(
        jsonl_replace(i2v_files(), 4, {"prompt": "scene 4", "first_frame_path": "image_4.png"})
    ),
    "ds-missing-video-file": ds_case({k: v for k, v in i2v_files().items() if k != "video_3.mp4"}),
    "ds-too-few-samples": ds_case(i2v_files(6)),
    "ds-image-wrong-format": ds_case({**i2v_files(), "image_2.png": GIF}),
    "ds-video-is-an-image": ds_case({**i2v_files(), "video_5.mp4": png()}),
    "ds-bad-file-name": ds_case(
        {
            **jsonl_replace(
                i2v_files(),
                1,
                {"prompt": "a", "first_frame_path": "image 1.png", "video_path": "video_1.mp4"},
            ),
            "image 1.png": png(),
        }
    ),
    "ds-i2v-subfolder": ds_case(i2v_files(kf2v=True), dataset_extra="  format: i2v\n"),
    "ds-validation-with-video": {
        **ds_case(i2v_files()),
        "manifest.yaml": docs(
            DS_PROVIDER,
            ds_dataset(),
            ds_dataset("val").replace("name: train", "name: val") + "  role: validation\n",
            ds_finetune() + "  validation_datasets: [val]\n",
        ),
        **{f"val/{k}": v for k, v in i2v_files().items()},
    },
    "ds-validation-role-missing": {
        **ds_case(i2v_files()),
        "manifest.yaml": docs(
            DS_PROVIDER,
            ds_dataset(),
            ds_dataset("val").replace("name: train", "name: val"),
            ds_finetune() + "  validation_datasets: [val]\n",
        ),
        **{f"val/{k}": v for k, v in i2v_files(video=False).items()},
    },
    "ds-kf2v-missing-last-frame": ds_case(
        jsonl_replace(
            i2v_files(kf2v=True),
            2,
            {"prompt": "p", "first_frame_path": "image/2_first.png", "video_path": "video/2.mp4"},
        ),
        model="wan2.2-kf2v-flash",
    ),
    "ds-format-mismatch": ds_case(i2v_files(), dataset_extra="  format: kf2v\n"),
    "ds-too-few-steps-warning": ds_case(i2v_files(), ft_extra="  hyper_parameters:\n    n_epochs: 100\n"),
    "ds-source-not-found": ds_case(None, source="no-such-folder"),
    "ds-source-not-a-zip": ds_case(source="data.tar", zip_name="data.tar", zip_data=b"not an archive\n"),
    # --- unsafe archives ---
    "zip-absolute-path": ds_case(
        source="data.zip",
        zip_name="data.zip",
        zip_data=zip_bytes([*i2v_files().items(), ("/etc/cron.d/x", b"x")]),
    ),
    "zip-parent-path": ds_case(
        source="data.zip",
        zip_name="data.zip",
        zip_data=zip_bytes([*i2v_files().items(), ("../outside.txt", b"x")]),
    ),
    "zip-symlink": ds_case(
        source="data.zip",
        zip_name="data.zip",
        zip_data=zip_bytes([*i2v_files().items(), (symlink_info("image_11.png"), b"/etc/passwd")]),
    ),
    "ds-symlink-to-outside": ds_case({**i2v_files(), "image_3.png": Link("/etc/passwd")}),
    "zip-bomb": ds_case(source="data.zip", zip_name="data.zip", zip_data=zip_bomb()),
    # --- WaveSpeed datasets ---
    "ws-caption-without-image": {
        "manifest.yaml": docs(
            WS_PROVIDER,
            "apiVersion: reconciler/v1\nkind: Dataset\nmetadata: {name: d}\nspec:\n  provider: ws\n  source: data\n",
            "apiVersion: reconciler/v1\nkind: FineTune\nmetadata: {name: f}\nspec:\n  provider: ws\n"
            "  trainer: wan-2.2-image-lora-trainer\n  dataset: d\n",
        ),
        **{f"data/{k}": v for k, v in ws_files(11).items() if k != "img_11.png"},
    },
    "ws-too-few-images": {
        "manifest.yaml": docs(
            WS_PROVIDER,
            "apiVersion: reconciler/v1\nkind: Dataset\nmetadata: {name: d}\nspec:\n  provider: ws\n  source: data\n",
            "apiVersion: reconciler/v1\nkind: FineTune\nmetadata: {name: f}\nspec:\n  provider: ws\n"
            "  trainer: wan-2.2-image-lora-trainer\n  dataset: d\n",
        ),
        **{f"data/{k}": v for k, v in ws_files(4).items()},
    },
    "ws-video-for-image-trainer": {
        "manifest.yaml": docs(
            WS_PROVIDER,
            "apiVersion: reconciler/v1\nkind: Dataset\nmetadata: {name: d}\nspec:\n  provider: ws\n  source: data\n",
            "apiVersion: reconciler/v1\nkind: FineTune\nmetadata: {name: f}\nspec:\n  provider: ws\n"
            "  trainer: qwen-image-lora-trainer\n  dataset: d\n",
        ),
        **{f"data/{k}": v for k, v in ws_files(4).items()},
        "data/clip.mp4": MP4,
        "data/img_03.png": b"not really a png",
    },
}


def main() -> int:
    for case in sorted(
        p for p in HERE.iterdir() if p.is_dir() and p.name not in CASES and not p.name.startswith("_")
    ):
        if (case / "expected.txt").exists():
            print(f"note: {case.name} is not generated by this script", file=sys.stderr)
    for name, files in CASES.items():
        target = HERE / name
        expected = (target / "expected.txt").read_bytes() if (target / "expected.txt").exists() else None
        if target.exists():
            shutil.rmtree(target)
        for rel, data in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, Link):
                path.symlink_to(data)
            else:
                path.write_bytes(data.encode() if isinstance(data, str) else data)
        if expected is not None:
            (target / "expected.txt").write_bytes(expected)
    print(f"wrote {len(CASES)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
