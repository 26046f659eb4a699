"""`qwenlab emulator`: serve the offline emulator of Runware's API on loopback."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from ..core.values import count_of, format_usd
from ..emulator import Emulator, Faults
from ..emulator.loopback import is_loopback_host

__all__ = ["emulator_command"]

# the fault options that are a chance per request: click names the option when one is out of range
PROBABILITY = click.FloatRange(0.0, 1.0)


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to serve on (127.0.0.1, ::1, localhost).")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port).")
@click.option("--api-key", default=None, envvar="QWENLAB_EMULATOR_API_KEY", help="Accept only this key (default: any non-empty key).")
@click.option("--latency", default=None, help="Seconds per task: 0.5, uniform:0.2,0.8, normal:0.5,0.1 or exp:0.5.")
@click.option("--rate-429", type=PROBABILITY, default=None, help="Probability per POST of HTTP 429.")
@click.option("--retry-after", type=click.FloatRange(min=0), default=None, help="Retry-After seconds sent with 429.")
@click.option("--rate-5xx", type=PROBABILITY, default=None, help="Probability per POST of HTTP 500/502/503.")
@click.option("--drop-before", type=PROBABILITY, default=None, help="Probability of closing the connection before accepting.")
@click.option("--drop-after", type=PROBABILITY, default=None, help="Probability of closing the connection after accepting (charged).")
@click.option("--stall", type=PROBABILITY, default=None, help="Probability of accepting, then sending nothing for --stall-seconds.")
@click.option("--stall-seconds", type=click.FloatRange(min=0), default=None, help="How long a stall lasts.")
@click.option("--malformed", type=PROBABILITY, default=None, help="Probability of a 200 answer with broken JSON (charged).")
@click.option("--task-error", type=PROBABILITY, default=None, help="Probability per task (per image if async) of inferenceError.")
@click.option("--slow-download", type=PROBABILITY, default=None, help="Probability per image GET of a slow download.")
@click.option("--download-bytes-per-s", type=click.IntRange(min=1), default=None, help="Speed of a slow download.")
@click.option("--expire-download", type=PROBABILITY, default=None, help="Probability per image GET of 410 (as if expired).")
@click.option("--seed", type=int, default=None, help="Seed of the fault dice, for reproducible runs.")
@click.option("--faults", "fault_spec", default="", help='All of the above as text, e.g. "latency=0.5 rate_429=0.1".')
@click.option("--memory", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep finished tasks and their images in this file for their ttl, so that getResponse "
                   "still knows them after a restart (default: only while it runs).")
@click.option("-v", "--verbose", is_flag=True, help="Print one line per request.")
def emulator_command(host: str, port: int, api_key: str | None, fault_spec: str, verbose: bool, memory: Path | None,
                     **options: object) -> None:
    """Serve the offline emulator of Runware's API on loopback until Ctrl-C.

    Its images are synthetic (drawn locally, marked SYNTHETIC); nothing leaves this machine.
    Every other command starts one of its own when RUNWARE_API_KEY is unset; this one is for
    other programs, or for runs against chosen faults.

    \b
    Example:
      qwenlab emulator --port 8787 --faults "rate_429=0.1 latency=0.5"
      RUNWARE_API_KEY=any RUNWARE_BASE_URL=http://127.0.0.1:8787/v1 qwenlab run sweep.toml
    """
    if not is_loopback_host(host):
        raise click.BadParameter(f"{host!r} is not a loopback address; the emulator only serves on 127.0.0.1, ::1 or localhost",
                                 param_hint="'--host'")
    # a bad value (a probability of 2, latency "soon") raises ValueError naming the fault: exit 2,
    # said as the option it came from (click has checked the ranges of the others)
    try:
        faults = Faults.parse(fault_spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--faults'") from None
    try:
        faults = faults.replace(**{k: v for k, v in options.items() if v is not None})
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--latency'") from None
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        emu = Emulator(host=host, port=port, api_key=api_key, faults=faults, memory=memory)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="'--memory'") from None
    try:
        emu.start()
    except OSError as exc:  # the same exit code (1) as any OSError; the message says which option to change
        raise OSError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); try another --port") from exc
    click.echo(f"qwenlab offline emulator of Runware's API: {emu.url}")
    click.echo("Images are SYNTHETIC (drawn locally, not by Qwen-Image); nothing leaves this machine; costs are emulated.")
    click.echo(f"Key: {'the one given with --api-key' if api_key else 'any non-empty key'}. Faults: {faults.summary()}. Ctrl-C stops.")
    if memory is not None:
        click.echo(f"Finished tasks are kept in {memory} for their ttl (getResponse knows them after a restart).")
    which = "set to the key given with --api-key" if api_key else "set to any non-empty key"
    click.echo(f"Use it: RUNWARE_BASE_URL={emu.url} (with RUNWARE_API_KEY {which})")
    emu.serve_forever()
    click.echo(f"stopped; emulated charges: {count_of(len(emu.ledger), 'image')}, {format_usd(emu.ledger.total())}")
