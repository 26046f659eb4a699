"""A sweep's plan: every cell with its exact request JSON and estimated cost, before anything is
sent, and the notes it prints on the sweep's choices.

    sweep.plan()        # a DataFrame, a row a cell; df.attrs["notes"], df.attrs["estimated_cost_usd"]
    sweep.notes()       # ["seed_policy 'auto' -> 'sample' for alibaba:qwen-image@2.0-pro: ...", ...]

The notes say when a parameter given beside an axis that sets it is sent by no cell, how the seed policy
`auto` resolved for each model, which sizes Runware may refuse
though the model accepts them, and where reference images are given at the top level (Runware may
ignore them) or by URL (only Runware fetches them). `Sweep` inherits `SweepPlan`; a run's preview
(preview.py) and `qwenlab run --dry-run` start from the plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..core.model import get_model
from ..core.values import format_usd
from ..errors import ModelNotFoundError
from .cell import Cell
from .secret_scan import refuse_secrets_in

if TYPE_CHECKING:
    import pandas as pd

    from .axis import Axis

__all__ = ["SweepPlan", "UNUSED_GIVEN_NOTE", "SAFETY_CONFLICT_NOTE", "TOP_LEVEL_REFERENCES_NOTE", "REMOTE_REFERENCES_NOTE", "description_of"]

# The model page documents inputs.referenceImages; its first example alone sends a top-level
# referenceImages, beside a negativePrompt that inputs.referenceImages refuses (so Runware may well
# have ignored it), and Runware's Python SDK types have only the inputs spelling. An edit sent so
# may come back drawn from the prompt alone, and a comparison would credit the reference for it.
TOP_LEVEL_REFERENCES_NOTE = (
    "referenceImages is given at the top level, as the model page's first example does: Runware documents "
    "inputs.referenceImages, and may ignore the top-level key (that example also sends a negativePrompt, which "
    "inputs.referenceImages refuses), drawing from the prompt alone; write it under inputs, or as "
    "Request(referenceImages=[...]), which sends it there")
# A sweep that works on the emulator must work on Runware: a reference image by URL is one place
# where it may not, and the plan says so before it is paid for
REMOTE_REFERENCES_NOTE = (
    "reference images are given by URL ({urls}): Runware fetches each when it runs the task, and fails the task if it "
    "cannot; the offline emulator does not fetch them (it draws a placeholder), so a wrong or private URL only shows "
    "on Runware. Open each once in a browser, or upload the image (a local path here is uploaded for you)")


# The page documents safety.checkContent ("Enable or disable content safety checking. When enabled,
# defaults to `fast` mode") and safety.mode (`none` "Disables checking", `fast` "Performs a single
# check"), and not which wins when they disagree: a sweep that sent both, disagreeing, compared
# images checked or not without knowing which
SAFETY_CONFLICT_NOTE = (
    "safety: safety.checkContent = {check} with safety.mode = {mode!r} ({cells}): checkContent {does} checking and "
    "mode {mode!r} {mode_does} it, and the model page does not say which wins (the offline emulator checks when either "
    "asks; Runware may not); give one of them, or both alike")


# Sweep(prompt=..., axes={"prompt": [...]}): every cell sends a value of the axis, so the prompt
# given beside it went nowhere, without a word; a user reading the sweep took it for sent somewhere
UNUSED_GIVEN_NOTE = (
    "{keyword}: the {keyword} given beside the {axis!r} axis {is_} sent by no cell: each cell sends one of the axis's "
    "values{edits}; leave {keyword} out (in a sweep file, {its} line), or list {it} among the axis's values")


class SweepPlan:
    """The plan of `Sweep`, which it inherits: it reads the sweep's seed policy, its models and its cells."""

    seed_policy: str
    models: list[str]
    cells: Callable[[], list[Cell]]
    axes: "list[Axis]"
    unused_given: Callable[[], list[tuple[str, str]]]
    # the notes printed (by plan() or a run): the sweep's own memory, not the process's, so
    # another sweep says its notes again
    notes_said: set[str]

    def unsaid_notes(self) -> list[str]:
        """The notes this sweep has not printed yet (its `plan()` printed some, or a run before),
        now counted as said: a run prints these. Planned and run in two cells of a notebook, or run
        twice, a sweep printed each note every time, the seed policy's three times in notebook 01,
        on Jupyter's pink stderr as if something were wrong."""
        said = self.notes_said
        fresh = [n for n in self.notes() if n not in said]
        said.update(fresh)
        return fresh

    def notes(self) -> list[str]:
        """What `plan()` (and a run) says about the sweep's choices: a parameter given beside
        an axis that sets it (a prompt beside a prompt axis), which no cell sends; the seed policy `auto` resolved, each size its model accepts but Runware may refuse (`SizeBounds.unconfirmed`),
        reference images given at the top level, which Runware may ignore, and those given by URL,
        which only Runware fetches."""
        out = []
        edits = " (prompt_sr edits those)" if any(a.kind == "prompt_sr" for a in self.axes) else ""
        for keyword, axis in self.unused_given():
            one = " and " not in keyword  # "width and height" beside a size axis
            out.append(UNUSED_GIVEN_NOTE.format(keyword=keyword, axis=axis, edits=edits if "rompt" in keyword else "",
                                                is_="is" if one else "are", its="its" if one else "their",
                                                it="it" if one else "them"))
        if self.seed_policy == "auto":
            for mid in self.models:
                desc = description_of(mid)
                if desc is None:
                    continue
                if desc.accepts_seed:
                    out.append(f"seed_policy 'auto' -> 'pin' for {mid}: it declares seed; repeat r of every cell uses the same seed")
                else:
                    out.append(f"seed_policy 'auto' -> 'sample' for {mid}: it declares no seed; each result's reported seed is recorded")
        sizes: dict[str, list[tuple[int, int]]] = {}
        top_level_references = False
        remote: dict[str, None] = {}
        safety: dict[tuple[bool, str], list[int]] = {}  # contradictory (checkContent, mode) -> the cells sending them
        for c in self.cells():
            sizes.setdefault(c.request.model_id, []).append(c.request.size)
            if (conflict := _safety_conflict(c.request.values)) is not None:
                safety.setdefault(conflict, []).append(c.index)
            top_level_references = top_level_references or c.request.spelled_at("referenceImages")
            remote.update((r, None) for r in c.request.reference_images if r.lower().startswith(("http://", "https://")))
        for (check, mode), indexes in safety.items():
            cells = ("every cell" if len(indexes) == len(self.cells()) else
                     f"cell{'s' if len(indexes) > 1 else ''} {', '.join(map(str, indexes[:5]))}"
                     + (f" and {len(indexes) - 5} more" if len(indexes) > 5 else ""))
            out.append(SAFETY_CONFLICT_NOTE.format(check=str(check).lower(), mode=mode, cells=cells,
                                                   does="enables" if check else "disables",
                                                   mode_does="disables" if mode == "none" else "performs"))
        if top_level_references:
            out.append(TOP_LEVEL_REFERENCES_NOTE)
        if remote:
            shown = ", ".join(list(remote)[:2]) + (f" and {len(remote) - 2} more" if len(remote) > 2 else "")
            out.append(REMOTE_REFERENCES_NOTE.format(urls=shown))
        for mid, wanted in sizes.items():
            desc = description_of(mid)
            note = desc.size.unconfirmed_note(wanted) if desc is not None else None
            if note:
                out.append(note + (f" ({mid})" if len(sizes) > 1 else ""))
        return out

    def plan(self, *, quiet: bool = False) -> "pd.DataFrame":
        """Every cell with its exact request JSON and estimated cost, before anything is sent.

        In `request_json` the taskUUID (made when the cell is first logged) and the imageUUIDs of
        local reference images (known once uploaded) are shown as placeholders.

        Raises ValidationError listing every problem of every cell. Prints a one-line summary
        (cells, cost, the seed policy chosen) unless `quiet`; the same notes are in
        `df.attrs["notes"]`.
        """
        import pandas as pd

        cells = self.cells()
        refuse_secrets_in(self, None)  # shown in the notebook, saved with it: as a run and `--dry-run`, refused
        rows = []
        for c in cells:
            # the taskUUID is made when a cell is first logged; a placeholder says so honestly
            shown = c.request_with({p: f"<upload of {img.path.name}>" for p, img in c.uploads.items()},
                                   task_uuid="<new UUID v4 when sent>")
            rows.append({"cell": c.index, **{f"{k}": c.labels[k] for k in c.labels}, "repeat": c.repeat,
                         "model": c.request.model_id, "width": c.request.size[0], "height": c.request.size[1],
                         "number_results": c.request.number_results, "seed_policy": c.seed_policy, "seed": c.seed,
                         "est_cost_usd": c.estimated_cost, "key": c.key, "request_json": shown.to_json()})
        df = pd.DataFrame(rows)
        total = round(sum(c.estimated_cost for c in cells), 6)
        images = sum(c.request.number_results for c in cells)
        notes = self.notes()
        df.attrs["notes"] = notes
        df.attrs["estimated_cost_usd"] = total
        if not quiet:
            self.notes_said.update(notes)
            print(f"{len(cells)} cell{'s' if len(cells) != 1 else ''}, {images} image{'s' if images != 1 else ''}, "
                  f"estimated {format_usd(total)}" + "".join(f"\n  {n}" for n in notes))
        return df

    @property
    def estimated_cost(self) -> float:
        """USD for every cell at today's prices."""
        return round(sum(c.estimated_cost for c in self.cells()), 6)


def _safety_conflict(values: dict[str, Any]) -> tuple[bool, str] | None:
    """(checkContent, mode) when a request gives both and they disagree: checkContent true with
    mode "none", or false with a mode that checks ("fast"); None otherwise (one alone is no conflict:
    the page says checkContent alone checks in `fast` mode)."""
    check, mode = values.get("safety.checkContent"), values.get("safety.mode")
    if not isinstance(check, bool) or not isinstance(mode, str):
        return None
    return (check, mode) if check != (mode != "none") else None


def description_of(model_id: str) -> Any:
    """The description of a model, or None for a model without one (the sweep's problems name it)."""
    try:
        return get_model(model_id)
    except ModelNotFoundError:
        return None
