"""The catalogue of typical mistakes (tools/mistakes, issue 21) is well formed.

Cheap checks only: every exercise function is covered, the sizes, unique
ids, every entry's module compiles and differs from the reference, every
required expression compiles, and each edge entry's probe shows a real
mistake. Whether the grader catches and names the mistakes is measured by
``python -m tools.mistakes`` (a run takes minutes), not asserted here.
"""

import ast
import re

import pytest

from cvlab_ch9.grader.core import all_checks
from cvlab_ch9.impl import LAB_NAMES
from tools.mistakes.catalogue import FUNCTIONS, Mistake, Variant, mistakes, module_text, overlay, solution_text, variants

ISSUE_EXAMPLES = (
    "gc_gradient_wrt_input", "xc_pool_stride_3", "enc_stride_on_second", "res_relu_after_add", "grid_global_normalization",
    "dep_no_centering", "dep_no_clip", "sep_with_biases", "dec_strided_valid", "dec_wrong_order", "enc_strided_conv_valid",
    "fl_predict_numpy", "fl_numpy_of_tensor", "dep_crop_zero_empty",
)


@pytest.fixture(scope="module")
def catalogue():
    return mistakes(), variants()


def test_the_functions_are_the_graders_exercises():
    assert tuple(FUNCTIONS) == LAB_NAMES
    for lab, functions in FUNCTIONS.items():
        assert {c.exercise for c in all_checks(lab=lab)} == set(functions), lab


def test_size_ids_and_coverage(catalogue):
    found, equivalent = catalogue
    assert len(found) >= 60 and len(equivalent) >= 25
    ids = [e.id for e in [*found, *equivalent]]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"[a-z0-9_]+", i) for i in ids)
    per_function = {f: sum(m.function == f for m in found) for functions in FUNCTIONS.values() for f in functions}
    assert min(per_function.values()) >= 3, per_function
    assert set(ISSUE_EXAMPLES) <= set(ids)


def test_every_entry_compiles_and_differs_from_the_reference(catalogue):
    for entry in [*catalogue[0], *catalogue[1]]:
        text = module_text(entry)
        compile(text, f"{entry.id}:{entry.lab}.py", "exec")
        assert text != solution_text(entry.lab), entry.id
        assert f"def {entry.function}(" in text, entry.id
        assert entry.description and "\n" not in entry.description and entry.source, entry.id


def test_every_mistake_states_what_a_naming_hint_contains(catalogue):
    for mistake in catalogue[0]:
        assert mistake.names, mistake.id
        for expression in mistake.names:
            re.compile(expression, re.IGNORECASE)
        assert bool(mistake.edge) <= (mistake.probe is not None), f"{mistake.id}: an edge entry shows its edge with a probe"


def test_a_hint_that_restates_the_docstring_names_no_mistake(catalogue):
    """The required expressions name what went wrong: the recipe alone (the function's docstring) never matches them all."""
    docstrings = {
        node.name: ast.get_docstring(node) or ""
        for lab in FUNCTIONS for node in ast.parse(solution_text(lab)).body if isinstance(node, ast.FunctionDef)
    }
    recipe_only = [m.id for m in catalogue[0] if all(re.search(n, docstrings[m.function], re.IGNORECASE) for n in m.names)]
    assert not recipe_only


def test_overlay_replaces_definitions_in_place_and_adds_new_ones():
    base = "import x\n\nA = 1\n\n\n@deco\ndef f():\n    return A\n\n\ndef g():\n    return 2\n"
    text = overlay(base, "class Helper:\n    pass\n\n\ndef f():\n    return 3\n\n\nA = 5\n", "f")
    assert text.startswith("import x\n\nclass Helper:")
    assert "@deco" not in text and "return A" not in text and "A = 1" not in text
    assert text.rstrip().endswith("def g():\n    return 2")
    namespace = {}
    exec(compile(text.replace("import x\n", ""), "overlay", "exec"), namespace)
    assert namespace["f"]() == 3 and namespace["A"] == 5 and namespace["g"]() == 2
    with pytest.raises(ValueError, match="does not define f"):
        overlay(base, "def h():\n    pass\n", "f")


def test_an_identical_entry_is_told_apart_from_a_changed_one():
    from tools.mistakes.catalogue import differs_from_solution  # noqa: PLC0415 - the helper under test

    reference = solution_text("architecture")
    start = reference.index("def conv_bn_relu(")
    same = reference[start : reference.index("\n\n\ndef separable_conv_params")]
    assert not differs_from_solution(Variant("same", "conv_bn_relu", "unchanged", same, "test"))
    changed = same.replace("use_bias=False", "use_bias=True")
    assert differs_from_solution(Mistake("changed", "conv_bn_relu", "bias", changed, ("bias",), "test"))


def test_each_probe_shows_a_real_mistake(catalogue, tmp_path):
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - some probes build tiny Keras models
    from tools.mistakes.probes import probe_disagrees  # noqa: PLC0415

    import_tensorflow()
    probed = [m for m in catalogue[0] if m.probe is not None]
    assert len(probed) >= 12
    agreeing = []
    for mistake in probed:
        disagrees, want, got = probe_disagrees(mistake, tmp_path / mistake.id)
        if not disagrees:
            agreeing.append((mistake.id, want, got))
    assert not agreeing


def test_the_runner_tells_a_caught_mistake_from_a_passing_variant(tmp_path):
    """tools.mistakes' adapter to the grader still works: one mistake loses its own points, one variant gets full marks."""
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - grading builds Keras models
    from tools.mistakes.catalogue import entry_by_id  # noqa: PLC0415
    from tools.mistakes.grading import evaluate  # noqa: PLC0415

    import_tensorflow()
    mistake = evaluate(entry_by_id("trimap_no_minus_one"), tmp_path)
    assert mistake.caught and not mistake.collateral, mistake.failing
    assert not mistake.full_marks and mistake.lost("trimap_to_classes") > 0
    variant = evaluate(entry_by_id("v_trimap_lookup_table"), tmp_path)
    assert variant.full_marks and not variant.caught, variant.failing
    assert {o.exercise for o in variant.outcomes} == set(FUNCTIONS["segmentation"])
