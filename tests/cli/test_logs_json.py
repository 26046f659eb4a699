"""`qwenlab logs ... --json`: every form of the command answers in JSON when asked, and the list
of experiments and one experiment's view say the same things the same way (tags as a list, the
table's status words)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from qwenlab.cli import cli
from qwenlab.cli.exits import EXIT_OK
from tests.support.labkit import run_sweep


def qwenlab(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="qwenlab")


def test_logs_path_json_prints_the_path_as_json(data_dir: Path) -> None:
    """--json was accepted by `logs path` and ignored: a script parsing its answer got a bare path."""
    plain = qwenlab("logs", "path")
    assert plain.exit_code == EXIT_OK and plain.output.strip() == str(data_dir / "qwenlab.db")
    answer = qwenlab("logs", "path", "--json")
    assert answer.exit_code == EXIT_OK, answer.output
    assert json.loads(answer.output) == {"path": str(data_dir / "qwenlab.db")}


def test_the_list_and_one_experiment_say_tags_and_in_doubt_alike(emulator, data_dir: Path) -> None:
    """`logs --json` gave tags as one string ("posters,lumiere") where `logs NAME --json` gave a
    list, and counted the cells in doubt as "sent" where the table heads them "in_doubt"."""
    exp = run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False)
    assert qwenlab("tag", "posters", "print", "lumiere").exit_code == EXIT_OK
    doubtful = int(exp.log.tasks(exp.id)[0]["id"])
    with exp.log.transaction() as db:  # a request sent whose answer was never logged (a crash in flight)
        db.execute("UPDATE tasks SET status = 'sent' WHERE id = ?", [doubtful])

    table = qwenlab("logs")
    header = table.output.splitlines()[0].split()
    row = dict(zip(header, next(line for line in table.output.splitlines() if line.startswith("posters")).split()))
    assert row["in_doubt"] == "1" and row["tags"] == "print,lumiere"

    listing = json.loads(qwenlab("logs", "--json").output)
    assert listing[0]["tags"] == ["print", "lumiere"]
    assert listing[0]["in_doubt"] == 1 and "sent" not in listing[0]

    detail = json.loads(qwenlab("logs", "posters", "--json").output)
    assert detail["tags"] == listing[0]["tags"]
    statuses = {t["id"]: t["status"] for t in detail["tasks"]}
    assert statuses[doubtful] == "in_doubt" and set(statuses.values()) == {"done", "in_doubt"}
    shown = qwenlab("logs", "posters").output
    task_rows = [line.split() for line in shown.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
    assert {r[0]: r[1] for r in task_rows}[str(doubtful)] == "in_doubt" and "sent" not in {r[1] for r in task_rows}


def test_an_untagged_experiment_lists_no_tags_as_an_empty_list(emulator, data_dir: Path) -> None:
    run_sweep(emulator, data_dir, name="plain", repeats=1, fail_one=False)
    assert json.loads(qwenlab("logs", "--json").output)[0]["tags"] == []
    assert json.loads(qwenlab("logs", "plain", "--json").output)["tags"] == []


def test_one_experiment_as_json_is_one_moment_of_its_log(emulator, data_dir: Path, capsys) -> None:
    """`qwenlab logs NAME --json` beside a run in another process read the tasks, then their
    images, each in a moment of its own: a cell the run finished in between was listed in doubt
    with the image of its finish. Now every row comes from one snapshot of the log."""
    from qwenlab.cli.logs import show_experiment
    from qwenlab.store.experiment import open_experiment
    from qwenlab.store.log import Log

    exp = run_sweep(emulator, data_dir, name="live", repeats=1, fail_one=False)
    last = max(int(t["id"]) for t in exp.log.tasks(exp.id))
    image = exp.log.rows("SELECT * FROM images WHERE task_id = ?", [last])[0]
    with exp.log.transaction() as db:  # the last cell is on the wire: 'sent', no image yet
        db.execute("DELETE FROM images WHERE task_id = ?", [last])
        db.execute("UPDATE tasks SET status = 'sent', cost_usd = NULL WHERE id = ?", [last])
    shown = open_experiment("live", data_dir)
    real = shown.log.tasks_frame

    def the_run_finishes_it_meanwhile(*args, **kwargs):
        out = real(*args, **kwargs)
        with Log(data_dir / "qwenlab.db") as run:  # the run, in another process
            run.complete_task(last, {"status": "done", "cost_usd": 0.075}, [
                {k: v for k, v in image.items() if k not in ("id", "task_id", "created_at")}])
        return out

    shown.log.tasks_frame = the_run_finishes_it_meanwhile  # type: ignore[method-assign]
    capsys.readouterr()
    show_experiment(shown, as_json=True, limit=100)
    tasks = json.loads(capsys.readouterr().out)["tasks"]
    by_id = {t["id"]: t for t in tasks}
    assert by_id[last]["status"] == "in_doubt" and by_id[last]["images"] == [], by_id[last]  # as it was when read
    assert all(t["images"] for t in tasks if t["status"] == "done")


def test_the_list_and_one_experiment_name_the_note_and_the_archiving_alike(emulator, data_dir: Path) -> None:
    """`logs --json` called an experiment's note `note` and gave `archived` (true/false) where
    `logs NAME --json` (the log's row, as Datasette and SQL read it) says `notes` and
    `archived_at` (when): a script reading both needed two names for one thing. Every field the
    two share now has one name and one value; and `search --json` gives `tags` a list, as these do."""
    run_sweep(emulator, data_dir, name="posters", repeats=1, fail_one=False)
    assert qwenlab("note", "posters", "extend wins").exit_code == EXIT_OK
    assert qwenlab("tag", "posters", "print").exit_code == EXIT_OK
    assert qwenlab("archive", "posters").exit_code == EXIT_OK

    (listed,) = json.loads(qwenlab("logs", "--json", "--all").output)
    row = json.loads(qwenlab("logs", "posters", "--json").output)["experiment"]
    assert "note" not in listed and "archived" not in listed
    assert listed["notes"] == row["notes"] == "extend wins"
    assert listed["archived_at"] == row["archived_at"] and row["archived_at"]
    shared = listed.keys() & row.keys()
    assert {"id", "name", "status", "notes", "archived_at", "budget_usd"} <= shared
    assert {k: listed[k] for k in shared} == {k: row[k] for k in shared}

    found = json.loads(qwenlab("search", "--tag", "print", "--json").output)
    assert found and all(r["tags"] == ["print"] for r in found)
    table = qwenlab("logs", "--all").output  # the terminal's listing says when it was archived
    assert "archived" in table.splitlines()[0] and row["archived_at"][:10] in table, table
