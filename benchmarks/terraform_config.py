#!/usr/bin/env python3
"""Write the Terraform configuration reconciler's benchmarks are compared with.

The equivalent of `generate.py`'s chains for Terraform: R built-in `terraform_data` resources
in dependency chains of 5 (each resource's `input` is the previous one's `output`), so a plan
walks a graph and apply creates in dependency order. `terraform_data` is built into Terraform:
no provider is downloaded, nothing touches the network. A CLI configuration that disables the
version check is written beside it (`terraformrc`); point TF_CLI_CONFIG_FILE at it.

    python benchmarks/terraform_config.py OUT_DIR 1000      # 1000 resources, 200 chains of 5
    python benchmarks/terraform_config.py OUT_DIR 1000 --state   # and the state an apply leaves

`write_state` writes the `terraform.tfstate` that `terraform apply` of that configuration leaves
(same resources, values and recorded dependencies; fresh ids), so no-change plans can be
measured at sizes whose apply would take Terraform an hour. The benchmark checks it: a
`plan -detailed-exitcode` on it must exit 0 (no changes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import uuid
from pathlib import Path

CHAIN = 5
CLI_CONFIG = 'disable_checkpoint = true\nplugin_cache_dir = "{cache}"\n'


def write_config(out: Path, resources: int, *, force: bool = False) -> Path:
    """`out/main.tf` with `resources` terraform_data in chains of 5; returns the CLI config file."""
    if out.exists():
        if not force:
            raise FileExistsError(f"{out} exists; pass --force to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    blocks = []
    for i in range(resources):
        chain, step = divmod(i, CHAIN)
        value = f'"chain-{chain:05d}"' if step == 0 else f"terraform_data.r{i - 1}.output"
        blocks.append(f'resource "terraform_data" "r{i}" {{\n  input = {value}\n}}\n')
    (out / "main.tf").write_text("".join(blocks))
    cache = out / ".plugin-cache"
    cache.mkdir()
    rc = out / "terraformrc"
    rc.write_text(CLI_CONFIG.format(cache=cache))
    return rc


def write_state(out: Path, resources: int, terraform_version: str = "1.15.5") -> None:
    """The state after applying `write_config(out, resources)`: what a no-change plan starts from."""
    entries = []
    for i in sorted(range(resources), key=lambda i: f"r{i}"):  # Terraform sorts by address
        chain, step = divmod(i, CHAIN)
        value = {"value": f"chain-{chain:05d}", "type": "string"}
        instance: dict[str, object] = {
            "schema_version": 0,
            "attributes": {
                "id": str(uuid.uuid4()),
                "input": value,
                "output": value,
                "triggers_replace": None,
            },
            "sensitive_attributes": [],
            "identity_schema_version": 0,
        }
        if step:
            instance["dependencies"] = sorted(f"terraform_data.r{j}" for j in range(i - step, i))
        entries.append(
            {
                "mode": "managed",
                "type": "terraform_data",
                "name": f"r{i}",
                "provider": 'provider["terraform.io/builtin/terraform"]',
                "instances": [instance],
            }
        )
    state = {
        "version": 4,
        "terraform_version": terraform_version,
        "serial": resources + 1,
        "lineage": str(uuid.uuid4()),
        "outputs": {},
        "resources": entries,
        "check_results": None,
    }
    (out / "terraform.tfstate").write_text(json.dumps(state, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("resources", type=int)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--state", action="store_true", help="also write the state an apply would leave")
    args = parser.parse_args(argv)
    rc = write_config(args.out, args.resources, force=args.force)
    if args.state:
        write_state(args.out, args.resources)
    print(f"wrote {args.resources} terraform_data to {args.out}; TF_CLI_CONFIG_FILE={rc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
