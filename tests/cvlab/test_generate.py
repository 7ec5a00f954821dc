"""labs/ is generated from solutions/ and must not drift.

The drift checks read the committed files (``git show``), not the working
tree: ``labs/`` is the student's folder, and filling it in is not drift.
"""

import ast
import subprocess

import pytest

from cvlab_ch9.generate import (
    BEGIN_MARKER,
    END_MARKER,
    MarkerError,
    drifted_files,
    generate_labs,
    skeleton_for,
    skeleton_text,
    solution_files,
    strip_solutions,
)
from cvlab_ch9.paths import LABS_DIR, REPO_ROOT, SOLUTIONS_DIR

#: The generator's inputs: a commit changing one of them must commit the regenerated labs/ too.
GENERATOR_INPUTS = ("solutions", "cvlab_ch9/generate.py")


def _git(*args):
    """stdout of ``git <args>`` in the repository; skips outside a git checkout (an unpacked release)."""
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.skip("git is not installed")
    if out.returncode != 0 and "not a git repository" in out.stderr:
        pytest.skip("not a git checkout")
    assert out.returncode == 0, out.stderr
    return out.stdout


def _generator_commit():
    """The last commit that changed solutions/ or the generator."""
    return _git("log", "-1", "--format=%H", "--", *GENERATOR_INPUTS).strip()


def test_committed_labs_match_committed_solutions():
    commit = _generator_commit()
    names = _git("ls-tree", "--name-only", f"{commit}:solutions").split()
    labs = set(_git("ls-tree", "--name-only", f"{commit}:labs").split())
    for name in (n for n in names if n.endswith(".py") and not n.startswith("_")):
        assert name in labs, f"labs/{name} was never committed: run `python -m cvlab_ch9.generate` and commit labs/"
        expected = skeleton_text(_git("show", f"{commit}:solutions/{name}"), name)
        assert _git("show", f"{commit}:labs/{name}") == expected, (
            f"labs/{name} in commit {commit[:10]} differs from what solutions/{name} generates: "
            "run `python -m cvlab_ch9.generate` and commit labs/ with solutions/"
        )


def test_edited_solutions_are_regenerated():
    """A working-tree change to solutions/ needs a fresh labs/ (students never edit solutions/, so theirs is untouched)."""
    commit = _generator_commit()
    for path in solution_files():
        if path.read_text() != _git("show", f"{commit}:solutions/{path.name}"):
            assert (LABS_DIR / path.name).read_text() == skeleton_for(path), (
                f"solutions/{path.name} changed but labs/{path.name} was not regenerated: run `python -m cvlab_ch9.generate`"
            )


def test_every_solution_has_a_skeleton_and_no_answers_leak(skeletons):
    for path in solution_files():
        skeleton = (skeletons / path.name).read_text()
        assert BEGIN_MARKER not in skeleton and END_MARKER not in skeleton
        ast.parse(skeleton)  # still valid Python
        solution_tree = ast.parse(path.read_text())
        functions = [n.name for n in solution_tree.body if isinstance(n, ast.FunctionDef)]
        for name in functions:
            if BEGIN_MARKER in ast.get_source_segment(path.read_text(), _function(solution_tree, name)):
                assert f'raise NotImplementedError("{path.stem}.{name}")' in skeleton


def _function(tree, name):
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)


def test_drift_is_detected(tmp_path):
    labs = tmp_path / "labs"
    generate_labs(SOLUTIONS_DIR, labs)
    assert drifted_files(SOLUTIONS_DIR, labs) == []
    target = labs / "segmentation.py"
    target.write_text(target.read_text() + "\n# edited by hand\n")
    assert drifted_files(SOLUTIONS_DIR, labs) == ["segmentation.py"]
    (labs / "architecture.py").unlink()
    assert drifted_files(SOLUTIONS_DIR, labs) == ["architecture.py", "segmentation.py"]


SOURCE = '''\
def f(x):
    """Doc."""
    y = 1
    ### BEGIN SOLUTION
    return x + y
    ### END SOLUTION


class K:
    def method(self):
        ### BEGIN SOLUTION
        return 2
        ### END SOLUTION
'''


def test_strip_replaces_blocks_with_named_errors():
    out = strip_solutions(SOURCE, "demo")
    assert 'raise NotImplementedError("demo.f")' in out
    assert '        raise NotImplementedError("demo.method")' in out
    assert "x + y" not in out and "return 2" not in out
    assert "y = 1" in out  # code before the block stays


@pytest.mark.parametrize(
    "source, problem",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    pass\n", "never closed"),
        ("def f():\n    pass\n    ### END SOLUTION\n", "without"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "outside a function"),
        ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n", "nested"),
    ],
)
def test_bad_markers_are_reported(source, problem):
    with pytest.raises(MarkerError, match=problem):
        strip_solutions(source, "demo")
