"""One logged request as HTML: what was asked, what came back, what it cost, what went wrong.

The explorer shows this beside a selected image. Every piece of text from the log (prompts,
error messages, the JSON sent) is escaped.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from ..core.values import format_usd, is_missing
from ..store.axes import names_axis
from ..store.log import AWAITED, IN_DOUBT
from ..sweeps.cellwork import IN_DOUBT_ADVICE

if TYPE_CHECKING:
    from ..store.catalog import Catalog, Entry

__all__ = ["request_html", "REQUEST_CSS", "AWAITED_NOTE"]

AWAITED_NOTE = "sent, waiting for its answer: its run is still sending (reload to see what it logged since)"

REQUEST_CSS = """
.qwl-detail { line-height: 1.35; font-size: 12px; }
.qwl-detail table { border-collapse: collapse; margin: 4px 0; }
.qwl-detail th { text-align: left; vertical-align: top; padding: 1px 10px 1px 0; white-space: nowrap; }
.qwl-detail td { vertical-align: top; padding: 1px 0; word-break: break-all; }
.qwl-detail pre { white-space: pre-wrap; word-break: break-word; font-size: 11px; line-height: 1.3; max-height: 20em;
  overflow: auto; margin: 2px 0 6px; background: #f6f6f6; padding: 4px; }
.qwl-error { color: #b00020; }
"""


def request_html(entry: "Entry", image: dict[str, Any] | None, catalog: "Catalog") -> str:
    """A table of one entry's request and outcome (`image`: its row of the log's images table,
    None for a cell without one), its prompts, errors and the exact request JSON sent."""
    t, img = dict(entry.task), image or {}
    title = f"image #{entry.image_id}" if entry.image_id is not None else f"cell without an image (task {entry.task_id})"
    # each value as the grid's headings name it: a long one's label names its axis already
    setting = " · ".join(label if names_axis(label := info.label(entry.value(a)), a) else f"{a}: {label}"
                         for a, info in catalog.axes.items() if a != "repeat")
    setting += f" · repeat {entry.repeat}"
    cost = _money(img.get("cost_usd") if img else None) or _money(t.get("cost_usd"))
    source = (img.get("cost_source") if img else None) or t.get("cost_source")
    if source == "api" and t.get("backend") == "emulator":
        source = "emulated: the offline emulator's number, nothing paid"
    # "SYNTHETIC image" only where there is one: a failed cell's read as if an image had been made
    synthetic = ": SYNTHETIC image" if entry.image_id is not None else ""
    where = {"emulator": f"qwenlab's offline emulator ({t.get('api_host')}){synthetic}",
             "runware": f"Runware ({t.get('api_host')})"}.get(t.get("backend") or "", "not recorded")
    rows: list[tuple[str, Any]] = [
        # a task left 'sent' is "in_doubt" here as in every count and filter; "running" while its run sends
        ("status", entry.status_said if t.get("status") else None),
        ("ran on", where if t.get("status") != "pending" else None),
        ("seed", entry.seed if entry.seed is not None else "—"),
        ("cost", f"{cost} ({source})" if cost and source else cost or "—"),
        ("estimated", _money(t.get("estimated_cost_usd"))),
        ("latency", f"{t['latency_s']:.2f} s" if t.get("latency_s") is not None else None),
        ("attempts", t.get("attempts")),
        ("model", t.get("model")),
        ("size", f"{t.get('width')}x{t.get('height')}" if t.get("width") else None),
        ("image", f"{img.get('width')}x{img.get('height')} {img.get('format') or ''}, {img.get('bytes') or 0:,} bytes"
         if img else None),
        ("seed policy", t.get("seed_policy")),
        ("taskUUID", t.get("task_uuid")),
        ("qwenlab", t.get("qwenlab_version")),
        ("imageUUID", img.get("image_uuid") if img else None),
        ("file", entry.path),
        ("sent", t.get("sent_at")),
        ("completed", t.get("completed_at")),
        ("HTTP status", t.get("http_status")),
    ]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in rows if v not in (None, ""))
    parts = [f"<div class='qwl-detail'><b>{html.escape(title)}</b><br><small>{html.escape(setting)}</small>",
             f"<table>{table}</table>"]
    if t.get("status") and entry.status_said == IN_DOUBT:  # sent, no answer logged: say what happens to it
        parts.append(f"<div class='qwl-error'>{html.escape(IN_DOUBT_ADVICE)}</div>")
    elif t.get("status") and entry.status_said == AWAITED:  # its run is still sending: nothing is wrong yet
        parts.append(f"<div>{html.escape(AWAITED_NOTE)}</div>")
    if t.get("error_code") or t.get("error_message"):
        # the message without the code its tail repeats ("... (inferenceError)"): the code is said just before it
        parts.append(f"<div class='qwl-error'><b>error {html.escape(str(t.get('error_code') or ''))}</b>: "
                     f"{html.escape(str(entry.error_detail or ''))}</div>")
    history = _json(t.get("history_json"))
    if history:
        lines = [f"{h.get('status')} {h.get('error_code') or ''}: {h.get('error_message') or ''} "
                 f"(taskUUID {h.get('task_uuid')})" for h in history if isinstance(h, dict)]
        parts.append("<div><b>earlier attempts</b><pre>" + html.escape("\n".join(lines)) + "</pre></div>")
    parts.append(f"<div><b>prompt</b><pre>{html.escape(str(t.get('prompt') or ''))}</pre></div>")
    if t.get("negative_prompt"):
        parts.append(f"<div><b>negative prompt</b><pre>{html.escape(str(t['negative_prompt']))}</pre></div>")
    sent = _json(t.get("request_json"))
    if sent is not None:
        parts.append("<div><b>request sent</b><pre>" + html.escape(json.dumps(sent, indent=2, ensure_ascii=False))
                     + "</pre></div>")
    else:
        parts.append("<div><i>not sent</i></div>")
    parts.append("</div>")
    return "".join(parts)


def _money(value: Any) -> str | None:
    if is_missing(value):
        return None
    return format_usd(float(value))


def _json(text: Any) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None
