#!/usr/bin/env python3
"""Write N sandbox chains Dataset → FineTune → CheckpointExport → Deployment into a directory.

Why: the engine benchmarks (issue 4 item 10) need a manifest set of 4N resources whose datasets
are real and *different* — identical folders would hash alike, and the provider would see N
uploads of one file — yet tiny, so generating 2000 chains takes seconds. Every dataset is the
quickstart's valid DashScope i2v layout (12 PNG first frames, 12 MP4-signed videos, data.jsonl)
with one caption that names the chain, so each folder's content hash is unique.

What it must not do: touch anything outside the output directory, or depend on the network.

    python benchmarks/generate.py OUT_DIR 100          # 100 chains → 400 resources (+ 1 Provider)
    python benchmarks/generate.py OUT_DIR 2 --force    # replace an existing OUT_DIR
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUICKSTART_DATA = REPO / "manifests" / "quickstart" / "data" / "money-rain"

# 12 samples, batch_size 2 (fixed for Wan i2v) → 6 steps per epoch; 150 epochs → 900 steps (≥ 800).
N_EPOCHS = 150

PROVIDER = """\
apiVersion: reconciler/v1
kind: Provider
metadata:
  name: dashscope
spec:
  type: dashscope
  endpoint: sandbox
  api_key_env: DASHSCOPE_API_KEY
  # the benchmark lifts the emulator's 20-job quota (bench_cli.py); say so, or plans over 20 are refused
  quota: {concurrent_jobs: 1000000, max_jobs: 1000000}
"""

CHAIN = """\
apiVersion: reconciler/v1
kind: Dataset
metadata:
  name: {name}-train
  labels: {{bench: chains}}
spec:
  provider: dashscope
  source: ../data/{name}
  format: i2v
---
apiVersion: reconciler/v1
kind: FineTune
metadata:
  name: {name}
  labels: {{bench: chains}}
spec:
  provider: dashscope
  model: wan2.5-i2v-preview
  training_datasets: [{name}-train]
  hyper_parameters:
    n_epochs: {n_epochs}
    learning_rate: 2.0e-5
    lora_rank: 32
    lora_alpha: 32
---
apiVersion: reconciler/v1
kind: CheckpointExport
metadata:
  name: {name}-c600
spec:
  provider: dashscope
  fine_tune: {name}
  checkpoint: checkpoint-600
  model_name: {name}-c600
---
apiVersion: reconciler/v1
kind: Deployment
metadata:
  name: {name}
spec:
  provider: dashscope
  checkpoint_export: {name}-c600
  plan: lora
  capacity: 1
  aigc_config:
    use_input_prompt: false
    prompt: "Describe the input image in one sentence, then append: s86b5p golden coins rain ({name})."
    lora_prompt_default: "s86b5p golden coins rain from the sky ({name})."
"""


def chain_name(index: int) -> str:
    return f"bench-{index:05d}"


def template_files() -> dict[str, bytes]:
    """The quickstart dataset, read once: every chain starts from these bytes."""
    if not QUICKSTART_DATA.is_dir():
        raise SystemExit(f"quickstart data not found at {QUICKSTART_DATA}; run scripts/make_example_data.py")
    return {p.name: p.read_bytes() for p in sorted(QUICKSTART_DATA.iterdir()) if p.is_file()}


def dataset_files(template: dict[str, bytes], name: str) -> dict[str, bytes]:
    """The template with the first caption naming this chain, so the folder's content is unique."""
    files = dict(template)
    lines = template["data.jsonl"].decode().splitlines()
    first = json.loads(lines[0])
    first["prompt"] = f"{first['prompt']} Benchmark chain {name}."
    lines[0] = json.dumps(first, ensure_ascii=False)
    files["data.jsonl"] = ("\n".join(lines) + "\n").encode()
    return files


def generate(out: Path, chains: int, *, force: bool = False) -> int:
    """Write `chains` chains into `out`; returns the number of resources (Provider excluded)."""
    if chains < 1:
        raise ValueError("the number of chains must be at least 1")
    if out.exists():
        if not force:
            raise FileExistsError(f"{out} exists; pass --force to replace it")
        shutil.rmtree(out)
    (out / "chains").mkdir(parents=True)
    (out / "provider.yaml").write_text(PROVIDER)
    template = template_files()
    for i in range(1, chains + 1):
        name = chain_name(i)
        folder = out / "data" / name
        folder.mkdir(parents=True)
        for filename, data in dataset_files(template, name).items():
            (folder / filename).write_bytes(data)
        (out / "chains" / f"{name}.yaml").write_text(CHAIN.format(name=name, n_epochs=N_EPOCHS))
    return 4 * chains


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory to write (provider.yaml, chains/, data/)")
    parser.add_argument("chains", type=int, help="number of chains (4 resources each)")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    args = parser.parse_args(argv)
    try:
        resources = generate(args.out, args.chains, force=args.force)
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.chains} chains ({resources} resources) to {args.out}; plan with -f {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
