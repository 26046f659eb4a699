"""The README stays true: its two commands exist, every qwenlab command and flag it names exists,
and its examples run as written (against the emulator, in a scratch folder)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlab.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_the_first_two_commands_are_make_demo_and_make_test() -> None:
    first, second = _blocks("bash")[:2]
    assert first.strip() == "make demo" and second.strip() == "make test"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _qwenlab_invocations() -> list[list[str]]:
    calls = []
    for block in _blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#")[0].strip().rstrip("&").strip()
            for part in re.split(r"&&|;", line):
                words = shlex.split(part)
                if words and words[0].endswith("qwenlab"):
                    calls.append(words[1:])
    return calls


def test_every_command_and_flag_named_in_the_readme_exists() -> None:
    calls = _qwenlab_invocations()
    assert len(calls) >= 10
    runner = CliRunner()
    for args in calls:
        command = args[0]
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0, f"qwenlab {command}: {result.output}"
        for flag in (a.split("=")[0] for a in args if a.startswith("-")):
            assert re.search(rf"(^|[\s,/]){re.escape(flag)}\b", result.output), f"qwenlab {command} has no {flag}"
    # and inline mentions like `qwenlab logs path` name real commands
    for name in set(re.findall(r"`qwenlab (\w+)", README)):
        assert runner.invoke(cli, [name, "--help"]).exit_code == 0, name


def _inline_commands() -> list[list[str]]:
    """The README's commands in backquotes within its text (`datasette data/qwenlab.db`), as words."""
    out = []
    for span in re.findall(r"`([^`\n]+)`", README):
        try:
            out.append(shlex.split(span))
        except ValueError:
            continue  # not a command: a quote of text
    return [words for words in out if words]


def test_the_virtualenvs_tools_are_named_by_their_path() -> None:
    """`make` does not activate the virtualenv, so a tool it installs there (datasette, pip) is
    typed as `.venv/bin/TOOL`, as `.venv/bin/qwenlab` is: the README said `datasette
    data/qwenlab.db` ("datasette: command not found") and `pip install -e '.[datasette]'` (the
    system's pip, or an "externally managed environment" refusal). A command that acts on a path
    or a package (an argument with "/" or ".[") is one to type; `qwenlab NAME` in prose names a command."""
    tools = {p.name for p in (Path(sys.prefix) / "bin").iterdir()} - {"qwenlab"}
    assert {"datasette", "pip"} <= tools
    bare = [" ".join(words) for words in _inline_commands() + [shlex.split(ln.split("#")[0]) for b in _blocks("bash")
                                                              for ln in b.replace("\\\n", " ").splitlines() if ln.split("#")[0].strip()]
            if words[0] in tools and any("/" in w or ".[" in w for w in words[1:])]
    assert bare == [], bare


@pytest.mark.slow
def test_the_datasette_command_opens_the_log_as_written(scratch: Path) -> None:
    """"It opens in Datasette as it is (`.venv/bin/datasette data/qwenlab.db`)": run as written in
    a shell whose PATH lacks the virtualenv (`make` activates nothing), asked for one page."""
    from qwenlab.store.log import Log

    line = next(" ".join(w) for w in _inline_commands() if "datasette" in w[0] and "data/qwenlab.db" in w)
    Log(scratch / "data" / "qwenlab.db").close()
    env = _env(scratch)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if Path(p).resolve() != (Path(sys.prefix) / "bin").resolve())
    done = subprocess.run(["bash", "-c", f"{line} --get /qwenlab/experiments.json"], cwd=scratch, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and '"rows": []' in done.stdout, f"{line}\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A folder shaped like the checkout: .venv (this interpreter's), data/sweeps, data/reference."""
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    for sub in ("sweeps", "reference"):
        (tmp_path / "data" / sub).mkdir(parents=True)
        for f in (ROOT / "data" / sub).iterdir():
            (tmp_path / "data" / sub / f.name).write_bytes(f.read_bytes())
    return tmp_path


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RUNWARE_API_KEY", "RUNWARE_BASE_URL", "QWENLAB_DATA_DIR")}
    env["QWENLAB_DATA_DIR"] = str(folder / "data")
    return env


@pytest.mark.slow
def test_the_shell_examples_run_as_written(scratch: Path) -> None:
    if not (Path(sys.prefix) / "bin" / "qwenlab").exists():
        pytest.fail("the qwenlab console script is not installed in this environment; run `make test`")
    subprocess.run([str(scratch / ".venv/bin/qwenlab"), "demo"], cwd=scratch, env=_env(scratch), check=True,
                   capture_output=True, timeout=600)
    # every block of qwenlab commands ("From a shell", "Organize, find and share"), in order (the
    # curl example has a test of its own); not the servers, which run until stopped (`qwenlab
    # emulator`, `qwenlab datasette`)
    blocks = [b for b in _blocks("bash") if all(".venv/bin/qwenlab " in ln for ln in b.splitlines() if ln.strip())]
    assert len(blocks) >= 2 and "qwenlab run" in blocks[0] and any("qwenlab tag" in b for b in blocks)
    lines = [ln for b in blocks for ln in b.splitlines()
             if ln.strip() and " emulator " not in ln and " datasette " not in ln]
    for line in lines:
        done = subprocess.run(["bash", "-c", line], cwd=scratch, env=_env(scratch), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    assert list((scratch / "data").glob("grid*.png")) and (scratch / "data" / "report.html").exists()
    assert list((scratch / "data" / "picked").glob("demo_*promptExtend-on*.jpg")) and (scratch / "data" / "demo.zip").exists()
    assert (scratch / "data" / "ben" / "qwenlab.db").exists()  # the colleague's log the import made


@pytest.mark.slow
def test_the_curl_example_returns_a_priced_result(scratch: Path) -> None:
    block = next(b for b in _blocks("bash") if "curl" in b)
    done = subprocess.run(["bash", "-c", block], cwd=scratch, env=_env(scratch), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"cost": 0.075' in done.stdout and '"imageURL"' in done.stdout


@pytest.mark.slow
def test_the_python_examples_run_as_written(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(scratch)
    monkeypatch.setenv("QWENLAB_DATA_DIR", str(scratch / "data"))
    pasted = (ROOT / "tests" / "data" / "seed-page.txt").read_text().split("```json\n")[1].split("```")[0]
    namespace: dict = {"pasted_runware_json": pasted}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for block in _blocks("python"):
            exec(compile(block, "README.md", "exec"), namespace)
    # an example that warns does not do what its comment says: cmp.export_images(..., min_rating=4)
    # of runs nobody had rated wrote nothing, warning "no image ... has a latest rating of 4 or more"
    said = [f"{w.category.__name__}: {w.message}" for w in caught if issubclass(w.category, UserWarning)]
    assert said == [], said
    picked = sorted(p.name for p in (scratch / "data" / "picked-runs").iterdir() if p.suffix != ".json")
    assert len(picked) == 2 and any("lumiere-gold" in name for name in picked), picked  # a rated image of each run
    assert namespace["exp"].counts()["done"] == 16
    from qwenlab.sweeps.sweepfile import load_sweep

    # the README's sweep and its sweep file are one experiment, whichever is run first
    assert namespace["sweep"].fingerprint() == load_sweep(ROOT / "data/sweeps/lumiere-extend.toml").sweep.fingerprint()
    # "The log"'s full-text search over prompts, as written, in the same session: it said
    # `Log().search(...)`, a class qwenlab does not export (NameError in a notebook)
    search = re.search(r"`([^`]*\.search\(\"LUMIERE\"\))`", README.split("\n## The log\n")[1]).group(1)
    found = eval(search, namespace)
    assert found and all("LUMIERE" in task["prompt"] for task in found), search
    one = namespace["one"]  # the request on its own is logged, its image on disk
    assert one.counts()["done"] == 1 and Path(one.images.path[0]).exists()
    assert one.log.rows("SELECT request_json FROM tasks WHERE experiment_id = ?", [one.id])[0]["request_json"]


@pytest.mark.slow
def test_the_notebook_shell_command_runs_the_kernels_python(tmp_path: Path, data_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's way to type `qwenlab` in a notebook runs the kernel's Python, not the first
    `python` on PATH. It said `!python -m qwenlab logs`, which under `.venv/bin/jupyter lab` (the
    virtualenv not activated, as `make` leaves it) ran the system's Python: "No module named qwenlab".
    Here PATH's first `python` is a stand-in that says so."""
    import nbformat
    from nbclient import NotebookClient

    from qwenlab.store.log import Log

    commands = [c for c in re.findall(r"`(![^`]*)`", README) if "-m qwenlab" in c]
    assert commands, "the README names no way to run qwenlab from a notebook cell"
    decoy = tmp_path / "bin"
    decoy.mkdir()
    for name in ("python", "python3"):
        (decoy / name).write_text("#!/bin/sh\necho \"PATH's python, not the kernel's\"\nexit 3\n")
        (decoy / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{decoy}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    Log(data_dir / "qwenlab.db").close()  # an empty log: `qwenlab logs` says so, naming it
    for command in commands:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys"), nbformat.v4.new_code_cell(command)])
        NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
        said = "".join(o.get("text", "") for o in nb.cells[1].outputs)
        assert "PATH's python" not in said and str(data_dir) in said, f"{command}: {said}"


def test_the_notebook_kernel_command_registers_this_python(tmp_path: Path) -> None:
    """`make` installs no notebook app: the README says how to open the notebooks, and its kernel
    line registers the virtualenv's Python (here into a scratch prefix, not the user's folder)."""
    line = next(ln for b in _blocks("bash") for ln in b.splitlines() if "ipykernel install" in ln)
    words = shlex.split(line.split("#")[0])
    assert words[0] == ".venv/bin/python" and "--user" in words
    words = [sys.executable] + words[1:]
    words[words.index("--user")] = f"--prefix={tmp_path}"
    done = subprocess.run(words, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    spec = json.loads((tmp_path / "share" / "jupyter" / "kernels" / "qwenlab" / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable and "ipykernel_launcher" in spec["argv"]
    assert any(".venv/bin/jupyter lab notebooks/" in b for b in _blocks("bash"))  # and the JupyterLab way beside it


def test_the_judging_keys_the_readme_and_help_give_are_the_widgets() -> None:
    """The README's key table and `help(exp.judge)` say the keys the judging widget's legend shows.
    The docstring said "keys ← → t s u": not 1, 2 and 0, which are what judge while the full-size
    view is zoomed in (the arrows pan it then), nor f, which opens that view."""
    from qwenlab import Experiment
    from qwenlab.widgets.judging import _LEGEND

    legend = [(keys.replace("⌫", "Backspace"), does) for keys, does in _LEGEND]
    table = re.findall(r"^\s*\| (.+?) \| (.+?) \|$", README.split("| key | does |")[1].split("\n\n")[0], re.M)
    assert [keys for keys, _ in table] == [keys for keys, _ in legend]
    told = " ".join(Experiment.judge.__doc__.split())
    for keys, does in legend:
        assert f"{keys} {does}" in told, (keys, does, told)
