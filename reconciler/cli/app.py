"""The root click group and the one place library errors become exit codes."""

from __future__ import annotations

import click

from reconciler.cli.spellings import TerraformSpellings
from reconciler.version import __version__


@click.group(
    cls=TerraformSpellings,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="reconciler")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Declarative plan/apply for LoRA fine-tuning on DashScope, WaveSpeed and ImgOpen."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
