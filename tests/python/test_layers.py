"""The package's layers import only downward, and no module imports a module that imports it.

The order (README's layout section): errors/_version → inputs → engine → persist →
results → fitting → scale → interop → the top (``__init__``, ``cli``, ``distributed``,
``datasets``). A module may import from its own layer or any layer before it.
"""
import ast
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
