"""The public API, pinned (after httpx's tests/test_exported_members.py): what `from qwenlab import
...` offers changes only on purpose, every exception a user can meet is exported from one place,
and internal helpers stay out of the top level."""

from __future__ import annotations

import ast
import inspect
import types
from pathlib import Path

import qwenlab
from qwenlab import errors

PUBLIC = [
    "Lab", "Sweep", "Experiment", "Costs", "Request", "parse_size", "RunwareClient", "TaskResult", "GeneratedImage",
    "connect", "DEFAULT_MODEL", "ModelDescription", "get_model", "list_models", "register_model", "labelled", "__version__",
]


def _exceptions_in_errors() -> list[str]:
    return sorted(name for name, obj in vars(errors).items()
                  if inspect.isclass(obj) and issubclass(obj, errors.QwenlabError) and obj.__module__ == errors.__name__)


def test_all_is_exactly_the_public_api_and_every_user_facing_exception() -> None:
    assert sorted(qwenlab.__all__) == sorted([*PUBLIC, "Problem", *_exceptions_in_errors()])
    assert len(qwenlab.__all__) == len(set(qwenlab.__all__))


def test_every_name_in_all_resolves_and_nothing_public_is_left_out() -> None:
    for name in qwenlab.__all__:
        assert getattr(qwenlab, name) is not None, name
    public = {n for n, v in vars(qwenlab).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType) and n not in {"TYPE_CHECKING", "Any"}}
    assert public <= set(qwenlab.__all__), f"public at the top level but not in __all__: {public - set(qwenlab.__all__)}"


def test_internal_helpers_are_not_at_the_top_level() -> None:
    for name in ("redact", "register_secret", "api_error_from", "Runner", "ExperimentRecord"):
        assert not hasattr(qwenlab, name), name


def test_every_exception_class_lives_in_the_errors_module() -> None:
    """A QwenlabError subclass defined anywhere else would be an exception users meet but cannot import from one place."""
    package = Path(qwenlab.__file__).parent
    elsewhere = []
    for path in package.rglob("*.py"):
        if path == package / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if bases & {"QwenlabError", *_exceptions_in_errors()}:
                    elsewhere.append(f"{path.relative_to(package)}: {node.name}")
    assert elsewhere == []


def test_errors_carry_their_task_as_real_attributes() -> None:
    """task_uuid and attempts are declared on every error (None by default), never patched onto one."""
    err = errors.ImageError("the image's URL expired")
    assert err.task_uuid is None and err.attempts is None and err.experiment is None
    mine = err.for_task("t-1", attempts=2)
    assert mine is err and (mine.task_uuid, mine.attempts) == ("t-1", 2)
    other = mine.for_task("t-2")
    assert other is not mine and other.task_uuid == "t-2" and mine.task_uuid == "t-1"


def test_every_public_member_of_an_exported_class_says_what_it_is() -> None:
    """`help(exp)`, `exp.id?` and an editor's hover are how a notebook user reads the API: every
    public method and property of the classes `from qwenlab import ...` gives (and of their bases
    in qwenlab) has a docstring. Experiment's `id`, `row` and `budget_usd`, Lab's `close`, eight
    of Request's properties and two of TaskResult's had none."""
    classes = [getattr(qwenlab, name) for name in qwenlab.__all__]
    undocumented = [missing for cls in classes if inspect.isclass(cls) and not issubclass(cls, BaseException)
                    for missing in _undocumented(cls)]
    assert undocumented == []


def _undocumented(cls: type) -> list[str]:
    """The public methods and properties of `cls` and its qwenlab bases that have no docstring."""
    missing = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith("qwenlab"):
            continue
        for member, value in vars(klass).items():
            function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
            if member.startswith("_") or not inspect.isfunction(function):
                continue
            if not (function.__doc__ or "").strip():
                missing.append(f"{cls.__name__}.{member} ({klass.__module__}.{klass.__qualname__})")
    return missing


def _return_type(function: types.FunctionType) -> object:
    """What `function` is annotated to return, resolved where its module can (names imported only
    under TYPE_CHECKING, such as `pd`, stay unresolved: None)."""
    import sys
    import typing

    try:
        return typing.get_type_hints(function).get("return")
    except NameError:
        annotation = function.__annotations__.get("return")
        try:
            return eval(annotation, vars(sys.modules[function.__module__])) if isinstance(annotation, str) else annotation
        except NameError:
            return None


def _returned_classes(roots: list[type]) -> list[type]:
    """`roots` and every qwenlab class their public methods and properties return, and theirs in turn."""
    seen: list[type] = []
    todo = list(roots)
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.append(cls)
        for name in dir(cls):
            value = inspect.getattr_static(cls, name)
            function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            returned = _return_type(function)
            if inspect.isclass(returned) and returned.__module__.startswith("qwenlab"):
                todo.append(returned)
    return seen


def test_what_lab_and_experiment_hand_back_says_what_it_is() -> None:
    """A notebook user meets more than `from qwenlab import ...` gives: `exp.compare_images(...)`,
    `exp.judge(...)`, `lab.compare(...)`, `lab.verify()` hand back objects whose members they read
    with `viewer.zoom?` or `help(cmp.tag)`. `CompareViewer.zoom` (fitted or 1:1?), `.pan`, `.split`,
    `.mode`, a comparison's refused `tag`/`note`/`rename`/..., `StoreReport.ok` and
    `ValidationError.parameters`, among others, said nothing."""
    classes = _returned_classes([qwenlab.Lab, qwenlab.Experiment])
    names = {c.__name__ for c in classes}
    assert {"CompareViewer", "Judging", "Explorer", "PairViewer", "Comparison", "StoreReport", "Costs"} <= names
    exceptions = [getattr(qwenlab, n) for n in errors.__all__]
    assert [m for cls in classes + exceptions for m in _undocumented(cls)] == []
