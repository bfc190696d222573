"""The package's layers import only downward, and no module imports a module that imports it.

The order (README's layout section): errors/_version → inputs → engine → persist →
results → fitting → scale → interop → the top (``__init__``, ``cli``, ``distributed``,
``datasets``). A module may import from its own layer or any layer before it.
"""
import ast
import re
from pathlib import Path

import pytest

import torchlinreg

PACKAGE = Path(torchlinreg.__file__).parent
LAYERS = ["errors", "_version", "inputs", "engine", "persist", "results", "fitting", "scale",
          "interop", "top"]


def layer_of(module):
    """The layer of a dotted module name inside the package (``engine.moments`` → engine)."""
    first = module.split(".")[0]
    return first if first in LAYERS else "top"


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield ".".join(path.relative_to(PACKAGE).with_suffix("").parts), path


def imports_of(name, path):
    """Dotted names (inside the package) that module ``name`` imports, at any depth."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    if path.name == "__init__.py":
        package = name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            yield target
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torchlinreg."):
            yield node.module[len("torchlinreg."):]


@pytest.mark.parametrize("name,path", list(modules()), ids=lambda v: str(v))
def test_every_module_imports_only_from_its_layer_or_below(name, path):
    here = LAYERS.index(layer_of(name))
    upward = [target for target in imports_of(name, path)
              if target and LAYERS.index(layer_of(target)) > here]
    assert not upward, f"{name} ({layer_of(name)}) imports upward: {upward}"


def test_no_two_modules_import_each_other():
    graph = {name: {t for t in imports_of(name, path)} for name, path in modules()}
    circles = [(a, b) for a, targets in graph.items() for b in targets
               if b != a and a in graph.get(b, ())]
    assert not circles


# --- a test file per module -------------------------------------------------------------------

TESTS = Path(__file__).parent

# Modules whose test file is allowed to be missing for now (none: keep it that way).
TEST_FILE_ELSEWHERE = {}


def expected_test_files():
    """``test_<module>.py`` for each module; ``test_<subpackage>_<module>.py`` where two
    modules share a name (``fitting/fit.py``, ``results/fit.py``); a subpackage's
    ``__init__.py`` that defines functions is the module ``<subpackage>``; the top-level
    ``__init__.py`` (the public API, re-exports) is tested by every file."""
    names = {}
    for name, path in modules():
        parts = name.split(".")
        if parts[-1] == "__init__":
            tree = ast.parse(path.read_text())
            defines = any(isinstance(node, (ast.FunctionDef, ast.ClassDef)) for node in tree.body)
            if len(parts) == 1 or not defines:
                continue
            parts = parts[:-1]
        names[".".join(parts)] = parts
    basenames = [parts[-1] for parts in names.values()]
    return {name: "test_" + "_".join(p.strip("_") for p in (
        parts if len(parts) > 1 and basenames.count(parts[-1]) > 1 else parts[-1:])) + ".py"
        for name, parts in names.items()}


def test_every_module_has_a_test_file_named_after_it():
    expected = expected_test_files()
    missing = {name: file for name, file in expected.items()
               if not (TESTS / file).exists() and name not in TEST_FILE_ELSEWHERE}
    assert not missing, f"modules without their test file (tests/python/...): {missing}"
    arrived = [name for name in TEST_FILE_ELSEWHERE if (TESTS / expected[name]).exists()]
    assert not arrived, f"{arrived} have their test file now: remove them from TEST_FILE_ELSEWHERE"


def test_the_naming_rule_tells_same_named_modules_apart():
    expected = expected_test_files()
    assert expected["fitting.fit"] == "test_fitting_fit.py"
    assert expected["results.fit"] == "test_results_fit.py"
    assert expected["engine.moments"] == "test_moments.py"
    assert expected["datasets"] == "test_datasets.py" and expected["__main__"] == "test_main.py"
    assert len(set(expected.values())) == len(expected)


# --- timings live in benchmarks/RESULTS.md, not in the code ----------------------------------

TIMING = re.compile(r"\b\d+(\.\d+)? ?(µs|ms)\b|\b\d+(\.\d+)? (s|seconds)\b"
                    r"|\b\d+(\.\d+)? ?[x×] (as fast|faster|slower)\b")


def test_no_timing_is_written_into_the_code():
    """Measured times go stale in comments and docstrings (issue 13): the code says why, and
    benchmarks/RESULTS.md says how long, as measured by `make bench`."""
    sources = list(PACKAGE.rglob("*.py")) + sorted((PACKAGE.parents[1] / "R").glob("*.R"))
    found = [f"{path.name}:{number}: {line.strip()}" for path in sources
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if TIMING.search(line)]
    assert not found, "timings in the code (move them to benchmarks/RESULTS.md):\n" + \
        "\n".join(found)
