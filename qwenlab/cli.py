"""The `qwenlab` command: thin click commands over the library.

Each command lives in its own section below and calls library code; no logic of its own.
"""

from __future__ import annotations

import click

from . import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qwenlab")
def cli() -> None:
    """Prompt experiments for Qwen-Image-2.0-Pro on Runware: sweeps, logs, grids, costs.

    Without RUNWARE_API_KEY every command talks to the offline emulator, whose images are synthetic.
    """


@cli.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print the descriptions as JSON.")
def models_command(as_json: bool) -> None:
    """List the model descriptions qwenlab knows, with their prices."""
    import json as _json

    from .model import list_models

    models = list_models()
    if as_json:
        click.echo(_json.dumps([{"id": m.id, "name": m.name, "usd_per_image": m.price, "origin": m.origin,
                                 "parameters": {n: p.path for n, p in m.parameters.items()}} for m in models], indent=2))
        return
    for m in models:
        click.echo(f"{m.id:32} ${m.price:.3f}/image  {m.name}  ({m.origin})")


def main() -> None:
    """Entry point of the console script."""
    cli()


if __name__ == "__main__":
    main()
