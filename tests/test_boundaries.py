"""Package boundaries: the import graph of every module, read from its AST.

Lower layers never import upper ones. ``cvlab_ch9/`` is the core and imports
only itself (its subpackages ``cvlab_ch9.grader`` and ``cvlab_ch9.ui`` are the
checkout's ``grader/`` and ``ui/`` folders, layers of their own); the grader builds on it; the UI and the course build on both;
development tools and benchmarks sit on top; the lab modules import no
project code at all. Every ``import`` counts, also those inside functions.
"""

import ast
from pathlib import Path

import pytest

from cvlab_ch9.paths import REPO_ROOT

#: package -> the project packages its modules may import.
ALLOWED = {
    "cvlab_ch9": {"cvlab_ch9"},
    "grader": {"cvlab_ch9", "grader"},
    "course": {"cvlab_ch9", "grader", "course"},
    "ui": {"cvlab_ch9", "grader", "ui"},
    "tools": {"cvlab_ch9", "grader", "ui", "tools"},
    "bench": {"cvlab_ch9", "grader", "ui", "tools", "bench"},
    "solutions": set(),
    "labs": set(),
}
PROJECT = set(ALLOWED) | {"tests"}


def layer_of(module_name):
    """The layer (checkout folder) of an imported module: ``cvlab_ch9.grader.core`` -> ``grader``."""
    parts = module_name.split(".")
    if parts[0] == "cvlab_ch9" and len(parts) > 1 and parts[1] in ("grader", "ui"):
        return parts[1]
    return parts[0]


def imported_packages(path, package):
    """{(layer, line)} of every import in the file ``path`` (a module of ``package``)."""
    tree = ast.parse(Path(path).read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update((layer_of(alias.name), node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.add((package, node.lineno))
            elif node.module == "cvlab_ch9":  # from cvlab_ch9 import grader
                found.update((layer_of(f"cvlab_ch9.{alias.name}"), node.lineno) for alias in node.names)
            else:
                found.add((layer_of(node.module or ""), node.lineno))
    return found


def forbidden_imports(root, package, allowed):
    """``["file:line imports pkg"]`` for imports of project packages outside ``allowed``."""
    problems = []
    for path in sorted((Path(root) / package).rglob("*.py")):
        for top, line in sorted(imported_packages(path, package)):
            if top in PROJECT and top not in allowed:
                problems.append(f"{path.relative_to(root)}:{line} imports {top}")
    return problems


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_package_imports_a_layer_above_it(package):
    assert (REPO_ROOT / package).is_dir()
    assert forbidden_imports(REPO_ROOT, package, ALLOWED[package]) == []


def test_every_package_has_a_rule():
    packages = {p.parent.name for p in REPO_ROOT.glob("*/__init__.py")} | {"labs", "solutions"}
    assert packages - {"tests"} == set(ALLOWED)


def test_the_checker_finds_imports_inside_functions_and_relative_ones(tmp_path):
    core = tmp_path / "cvlab_ch9"
    core.mkdir()
    (core / "a.py").write_text("import numpy\nfrom cvlab_ch9 import b\n\n\ndef f():\n    from cvlab_ch9.grader.core import check\n")
    (core / "b.py").write_text("from . import a\nimport cvlab_ch9.ui.app as app\nfrom cvlab_ch9 import ui\n")
    assert forbidden_imports(tmp_path, "cvlab_ch9", ALLOWED["cvlab_ch9"]) == [
        "cvlab_ch9/a.py:6 imports grader",
        "cvlab_ch9/b.py:2 imports ui",
        "cvlab_ch9/b.py:3 imports ui",
    ]


def harness_imports(root):
    """``["file:line imports x"]`` for imports in ``grader/harness`` that leave it (project packages, ``..``)."""
    problems = []
    for path in sorted((Path(root) / "grader" / "harness").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [layer_of(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [".." * 1] if node.level > 1 else ([] if node.level else [layer_of(node.module or "")])
            problems.extend(f"{path.relative_to(root)}:{node.lineno} imports {n}" for n in names if n in PROJECT | {".."})
    return problems


def test_the_sandbox_harness_imports_nothing_of_the_project():
    """The sandbox runs a private copy of grader/harness without the project on its path."""
    assert harness_imports(REPO_ROOT) == []
