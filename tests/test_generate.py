"""labs/ is generated from solutions/ and must not drift."""

import ast

import pytest

from cvlab.generate import BEGIN_MARKER, END_MARKER, MarkerError, drifted_files, generate_labs, solution_files, strip_solutions
from cvlab.paths import LABS_DIR, SOLUTIONS_DIR


def test_labs_match_solutions():
    drifted = drifted_files()
    assert not drifted, f"labs/ drifted from solutions/ for {drifted}: run `python -m cvlab.generate`"


def test_every_solution_has_a_skeleton_and_no_answers_leak():
    for path in solution_files():
        skeleton = (LABS_DIR / path.name).read_text()
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
