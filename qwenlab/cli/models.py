"""`qwenlab models`: the model descriptions qwenlab knows."""

from __future__ import annotations

import click

from ..core.model import list_models
from ..core.values import format_usd
from .common import echo_json

__all__ = ["models_command"]


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print the descriptions as JSON.")
def models_command(as_json: bool) -> None:
    """List the model descriptions qwenlab knows, with their prices."""
    models = list_models()
    if as_json:
        echo_json([{"id": m.id, "name": m.name, "usd_per_image": m.price, "origin": m.origin,
                    "parameters": {n: p.path for n, p in m.parameters.items()}} for m in models])
        return
    for m in models:
        click.echo(f"{m.id:32} {format_usd(m.price)}/image  {m.name}  ({m.origin})")
