"""`qwenlab logs` says where each experiment ran: a backend column (emulator, runware, mixed,
unknown), what "emulator" means under the table, and an experiment's own view starts with
SYNTHETIC / MIXED and has a backend column per task when it is mixed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qwenlab import labelled
from qwenlab.cli import cli
from tests.support.backends import relabel
from tests.support.labkit import rename_axes, run_sweep


def test_logs_lists_each_experiments_backend(emulator, data_dir: Path) -> None:
    emulated = run_sweep(emulator, data_dir, name="emulated", fail_one=False)
    mixed = run_sweep(emulator, data_dir, name="mixed", fail_one=False, prompt="A poster for 'NOIR'")
    relabel(mixed, "runware", every=2)
    old = run_sweep(emulator, data_dir, name="old", fail_one=False, prompt="A poster for 'AURELIS'")
    relabel(old, None)
    out = CliRunner().invoke(cli, ["logs"])
    assert out.exit_code == 0, out.output
    rows = {line.split()[0]: line for line in out.output.splitlines() if line.split()}
    assert "backend" in out.output.splitlines()[0]
    assert " emulator " in rows["emulated"] + " " and " mixed " in rows["mixed"] + " " and " unknown " in rows["old"] + " "
    assert "emulator: qwenlab's offline emulator" in out.output and "synthetic" in out.output
    data = {r["name"]: r for r in json.loads(CliRunner().invoke(cli, ["logs", "--json"]).output)}
    assert (data["emulated"]["backend"], data["mixed"]["backend"], data["old"]["backend"]) == ("emulator", "mixed", "unknown")
    assert emulated.provenance.kind == "emulator"


def test_logs_of_one_experiment_says_synthetic_and_marks_mixed_tasks(emulator, data_dir: Path) -> None:
    exp = run_sweep(emulator, data_dir, name="one", fail_one=False)
    out = CliRunner().invoke(cli, ["logs", "one"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[1].strip().startswith("SYNTHETIC: run on qwenlab's offline emulator")
    relabel(exp, "runware", every=2)
    out = CliRunner().invoke(cli, ["logs", "one"])
    assert "MIXED" in out.output
    header = next(line for line in out.output.splitlines() if line.split()[:1] == ["task_id"])
    assert "backend" in header
    rows = [line.split() for line in out.output.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
    assert [r[2] for r in rows].count("emulator") == 4 and [r[2] for r in rows].count("runware") == 4
    detail = json.loads(CliRunner().invoke(cli, ["logs", "one", "--json"]).output)
    assert {t["backend"] for t in detail["tasks"]} == {"emulator", "runware"}


def test_logs_shows_an_experiment_without_a_budget_as_a_dash(emulator, data_dir: Path) -> None:
    # pandas printed NaN beside a budgeted experiment, None when none had a budget: neither is a word
    run_sweep(emulator, data_dir, name="open", fail_one=False)
    out = CliRunner().invoke(cli, ["logs"])
    assert out.exit_code == 0, out.output
    row = next(line.split() for line in out.output.splitlines() if line.split()[:1] == ["open"])
    header = out.output.splitlines()[0].split()
    assert row[header.index("budget_usd")] == "-"
    budgeted = run_sweep(emulator, data_dir, name="capped", fail_one=False, prompt="A poster for 'NOIR'")
    with budgeted.log.transaction() as db:
        db.execute("UPDATE experiments SET budget_usd = 2.5 WHERE id = ?", [budgeted.id])
    out = CliRunner().invoke(cli, ["logs"])
    rows = {line.split()[0]: line.split() for line in out.output.splitlines()[1:] if line.split()}
    assert rows["open"][header.index("budget_usd")] == "-" and rows["capped"][header.index("budget_usd")] == "$2.50"
    assert "NaN" not in out.output and "None" not in out.output
    data = {r["name"]: r for r in json.loads(CliRunner().invoke(cli, ["logs", "--json"]).output)}
    assert data["open"]["budget_usd"] is None and data["capped"]["budget_usd"] == 2.5


def test_logs_of_an_experiment_shows_what_a_task_lacks_as_a_dash(emulator, data_dir: Path) -> None:
    # every done task printed error_code "None", and the failed one seed "<NA>" and cost "NaN"
    run_sweep(emulator, data_dir, name="errors")  # one cell fails on purpose
    out = CliRunner().invoke(cli, ["logs", "errors"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    header = next(line.split() for line in lines if line.split()[:1] == ["task_id"])
    rows = [line.split() for line in lines[lines.index(next(x for x in lines if x.split()[:1] == ["task_id"])) + 1:]]
    assert len(rows) == 8 and all(len(r) == len(header) for r in rows)
    cell = {r[1]: dict(zip(header, r)) for r in rows}
    for word in ("None", "<NA>", "NaN"):
        assert word not in out.output
    assert cell["done"]["error_code"] == "-" and cell["done"]["seed"].isdigit() and cell["done"]["cost_usd"] == "$0.075"
    assert cell["failed"]["error_code"] == "inferenceError"
    assert cell["failed"]["seed"] == "-" and cell["failed"]["cost_usd"] == "-"


def test_logs_of_an_experiment_shows_an_axis_named_status_or_backend_beside_those_columns(emulator, data_dir: Path) -> None:
    """A bundle axis took any name (a sweep now refuses these; an older log keeps them): one named
    "status" (draft, final) shared the table's column with the task's status, and one named
    "backend" (a, b) read the backend each task ran on, the axis's values nowhere. Each is its own
    column, "axis:status" as the cost keys spell it."""
    axes = {"look": {"draft": {"promptExtend": True}, "final": {"promptExtend": False}},
            "frame": {"a": {"size": "512x768"}, "b": {"size": "768x512"}}}
    run_sweep(emulator, data_dir, name="named", axes=axes, repeats=1, fail_one=False)
    exp = rename_axes(data_dir, "named", {"look": "status", "frame": "backend"})
    # the frames too: the axis beside the frame's own column of that name, read as the views read it
    df = labelled(exp.df)
    assert list(df["axis:status"]) == ["draft", "draft", "final", "final"] and set(df["status"]) == {"done"}
    assert list(df["axis:backend"]) == ["a", "b", "a", "b"] and set(df["backend"]) == {"emulator"}
    out = CliRunner().invoke(cli, ["logs", "named"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["task_id"])
    head = lines[at].split()
    assert head.count("status") == 1 and "axis:status" in head and "axis:backend" in head, head
    rows = [dict(zip(head, line.split())) for line in lines[at + 1:]]
    assert [(r["status"], r["axis:status"], r["axis:backend"]) for r in rows] == [
        ("done", "draft", "a"), ("done", "draft", "b"), ("done", "final", "a"), ("done", "final", "b")], out.output
