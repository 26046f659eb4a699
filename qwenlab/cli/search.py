"""`qwenlab search`: images across experiments, by prompt words, experiment, tag and rating."""

from __future__ import annotations

import warnings
from typing import Any

import click

from ..core.terminal import fit_table, table_text, terminal_width
from ..core.values import count_of, present
from ..errors import ExperimentNotFoundError
from ..store.log import Log
from ..store.search import search
from .common import echo_json, echo_text, known_tag, log_or_empty
from .exits import param_hints

__all__ = ["search_command"]

_SHOWN = ["experiment", "image_id", "values", "seed", "rating", "prompt", "path"]


@param_hints({ExperimentNotFoundError: "--experiment"})
@click.command("search")
@click.argument("text", required=False)
@click.option("-e", "--experiment", "experiments", multiple=True, help="Only this experiment (repeat for several).")
@click.option("--tag", default=None, help="Only experiments with this tag.")
@click.option("--min-rating", type=click.FloatRange(1, 5), default=None,
              help="Only images whose latest rating is at least this (1-5).")
@click.option("--no-archived", is_flag=True, help="Leave archived experiments out.")
@click.option("--raw", is_flag=True, help="TEXT is an SQLite FTS5 query (LUMIERE OR AURELIS, glow*).")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Images shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every column).")
def search_command(text: str | None, experiments: tuple[str, ...], tag: str | None, min_rating: float | None,
                   no_archived: bool, raw: bool, limit: int, as_json: bool) -> None:
    """Find images whose prompt has every word of TEXT, in every experiment: qwenlab search LUMIERE.

    Without TEXT, every image the filters keep (qwenlab search --tag posters --min-rating 4).
    Each prompt is cut to what the terminal's width leaves it (whole in a file or a pipe; --json
    has every column whole).
    """
    # no log yet: --json answers as an empty log would ([], exit 0: it exited 1 with no document at
    # all, which `json.load` and `jq` refuse), its options checked as they are with a log
    path, log, no_log = log_or_empty(as_json, experiments)
    known_tag(log, tag)
    with warnings.catch_warnings():  # a cut list is said below, as the command's own words
        warnings.filterwarnings("ignore", message=r"search: the first \d+ of")
        df = search(log, path.parent, text, experiment=list(experiments) or None, tag=tag, min_rating=min_rating,
                    archived=not no_archived, raw=raw, limit=limit)
    if as_json:
        rows = [{k: present(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
        for row in rows:  # a list, as `qwenlab logs --json` gives them (tags hold no comma: clean_tags)
            row["tags"] = [t for t in (row["tags"] or "").split(",") if t]
        echo_json(rows)
        if no_log:
            click.echo(f"no log yet at {path}", err=True)
    elif df.empty:
        why = _none_rated_so(path, text, experiments, tag, min_rating, no_archived, raw) if min_rating is not None else ""
        click.echo("no images found" + (f": {why}" if why else ""))
    else:
        table = df[_SHOWN].copy()
        table["rating"] = table["rating"].map(lambda r: "" if present(r) is None else f"{r:g}")
        # the prompt and the axis values take what the terminal has left (the prompt was cut at 40
        # characters, however wide the terminal); whole in a file or a pipe. The path stays whole:
        # it is there to be copied
        table = fit_table(table, ["prompt", "values"], terminal_width(), index=False)
        echo_text(table_text(table, index=False))  # prompts: an older log may hold a key pasted into one
    matched = int(df.attrs.get("matched", len(df)))
    if matched > len(df):  # on stderr: --json stays a list
        click.echo(f"the first {len(df)} of {matched} images that match are shown; -n {matched} shows them all", err=True)


def _none_rated_so(path: Any, text: str | None, experiments: tuple[str, ...], tag: str | None, min_rating: float,
                   no_archived: bool, raw: bool) -> str:
    """Why --min-rating kept nothing, where the rest of the search finds images: "no images
    found" alone read as no match at all, when none was rated (ratings are made in a notebook)."""
    found = search(Log(path), path.parent, text, experiment=list(experiments) or None, tag=tag, archived=not no_archived,
                   raw=raw, limit=None)
    if found.empty:
        return ""
    rated = int(found["rating"].notna().sum())
    return (f"none of the {count_of(len(found), 'image')} that match has a latest rating of {min_rating:g} or more "
            f"({rated} rated); rate them in a notebook (exp.explore()), or lower --min-rating")
