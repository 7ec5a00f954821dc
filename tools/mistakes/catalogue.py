"""The catalogue's entries and how one becomes a lab module.

An entry is code a student could hand in for one exercise of chapter 9:
:class:`Mistake` (wrong: the grader must take that exercise's points and its
hint must name the mistake) or :class:`Variant` (right, written differently
from ``solutions/``: full marks). Its ``code`` holds whole top-level
definitions (functions, classes, constants, imports) as the student wrote
them; :func:`module_text` lays them over a copy of ``solutions/<lab>.py``:
every definition of the same name is replaced, the new code goes where the
first of them was.

The entries themselves live in the ``entries_*`` and ``variants_*`` modules of this package;
:func:`mistakes` and :func:`variants` gather them.
"""

import ast
import dataclasses
import functools
import importlib
from collections.abc import Callable

from cvlab_ch9.paths import SOLUTIONS_DIR

#: The 18 exercise functions of ``EXERCISES.md``, per lab, in contract order.
FUNCTIONS = {
    "segmentation": (
        "trimap_to_classes", "strided_downsampling", "conv_transpose_decoder", "build_segmentation_model", "mean_iou",
    ),
    "architecture": (
        "residual_block", "conv_bn_relu", "separable_conv_params", "xception_block", "build_mini_xception",
    ),
    "interpretation": (
        "extract_activations", "activation_grid", "filter_loss", "gradient_ascent_step", "generate_filter_pattern",
        "deprocess_image", "grad_cam", "overlay_heatmap",
    ),
}
LAB_OF = {function: lab for lab, functions in FUNCTIONS.items() for function in functions}
ENTRY_MODULES = (
    "entries_segmentation", "entries_architecture", "entries_activations", "entries_filters", "entries_gradcam",
    "variants_segmentation", "variants_architecture", "variants_interpretation",
)


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A typical mistake in one exercise.

    Attributes:
        id: unique, ``<short function>_<what>``.
        function: the exercise (one of :data:`FUNCTIONS`) the mistake is in.
        description: one line: what the student did.
        code: the student's definitions (see :func:`module_text`).
        names: regular expressions (case-insensitive) that a hint naming this
            mistake matches, every one of them: what was done wrong and what to change.
        source: where the mistake comes from (the book, its notebooks, keras-io, forums) or why students make it.
        edge: the contract's edge value that exposes it, when only a probe at that value can
            (``crop=0``); "" when ordinary inputs do.
        probe: ``probe(module) -> value``: a call on which this code and the
            reference disagree (a value, a shape, or one of them raising), to show that
            the entry is a real mistake without the grader; None where the grader's
            verdict is the evidence.
    """

    id: str
    function: str
    description: str
    code: str
    names: tuple[str, ...]
    source: str
    edge: str = ""
    probe: Callable | None = None

    @property
    def lab(self):
        return LAB_OF[self.function]


@dataclasses.dataclass(frozen=True)
class Variant:
    """Correct code written differently from ``solutions/``: every check of its lab must pass.

    Attributes:
        id: unique.
        function: the exercise it rewrites (the code may rewrite helpers too).
        description: one line: how it differs.
        code: the definitions (see :func:`module_text`).
        source: why students write it this way.
    """

    id: str
    function: str
    description: str
    code: str
    source: str

    @property
    def lab(self):
        return LAB_OF[self.function]


# -- laying code over the reference -------------------------------------------------------


def solution_text(lab):
    """The text of ``solutions/<lab>.py``."""
    return (SOLUTIONS_DIR / f"{lab}.py").read_text()


@functools.lru_cache(maxsize=16)
def _parsed(text):
    """``ast.parse(text)``, cached: the reference modules are parsed once per run (callers never mutate the tree)."""
    return ast.parse(text)


def _defined_names(node):
    """Names a top-level statement defines (functions, classes, plain assignments); imports define none here."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _start_line(node):
    """First line (1-based) of a top-level statement, decorators included."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def replaced_definitions(base_text, code):
    """``{name: (base node, new node)}`` for the names ``code`` defines that ``base_text`` defines too."""
    base = {name: node for node in _parsed(base_text).body for name in _defined_names(node)}
    new = {name: node for node in ast.parse(code).body for name in _defined_names(node)}
    return {name: (base[name], node) for name, node in new.items() if name in base}


def overlay(base_text, code, function):
    """``base_text`` with the definitions in ``code`` laid over it.

    Every top-level definition of ``base_text`` whose name ``code`` defines
    is removed; ``code`` goes where the first removed one was.

    Raises:
        ValueError: ``code`` does not define ``function``, or ``base_text`` has no ``function``.
    """
    new_names = set().union(*(_defined_names(node) for node in ast.parse(code).body))
    if function not in new_names:
        raise ValueError(f"the code does not define {function}()")
    nodes = [node for node in _parsed(base_text).body if _defined_names(node) & new_names]
    if not any(function in _defined_names(node) for node in nodes):
        raise ValueError(f"the reference has no top-level {function}()")
    lines = base_text.splitlines(keepends=True)
    spans = sorted((_start_line(node) - 1, node.end_lineno) for node in nodes)
    block = code.strip("\n") + "\n"
    out, position = [], 0
    for index, (start, end) in enumerate(spans):
        out.extend(lines[position:start])
        if index == 0:
            out.append(block)
        position = end
    out.extend(lines[position:])
    return "".join(out)


def edited(template, *replacements):
    """``template`` (a student's function written once) with each ``(old, new)`` replaced; ValueError if an old is absent."""
    for old, new in replacements:
        if old not in template:
            raise ValueError(f"not in the template: {old!r}")
        template = template.replace(old, new)
    return template


def module_text(entry):
    """The lab module an entry hands in: ``solutions/<lab>.py`` with the entry's code laid over it."""
    return overlay(solution_text(entry.lab), entry.code, entry.function)


def differs_from_solution(entry):
    """True when at least one definition of the entry differs from the reference's (docstrings ignored)."""
    base_text = solution_text(entry.lab)
    pairs = replaced_definitions(base_text, entry.code)
    return any(_normalized(old) != _normalized(new) for old, new in pairs.values()) or (
        len(pairs) < len(set().union(*(_defined_names(n) for n in ast.parse(entry.code).body)))
    )


def _normalized(node):
    """``ast.dump`` of a definition without its docstring."""
    node = ast.parse(ast.unparse(node)).body[0]
    body = getattr(node, "body", None)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        node.body = body[1:] or [ast.Pass()]
    return ast.dump(node)


# -- the catalogue ------------------------------------------------------------------------


def _entries(kind):
    found = []
    for name in ENTRY_MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        found.extend(getattr(module, kind, ()))
    return found


def mistakes():
    """Every :class:`Mistake`, lab by lab in contract order of their functions."""
    order = [f for functions in FUNCTIONS.values() for f in functions]
    return sorted(_entries("MISTAKES"), key=lambda m: order.index(m.function))


def variants():
    """Every :class:`Variant`, in contract order of their functions."""
    order = [f for functions in FUNCTIONS.values() for f in functions]
    return sorted(_entries("VARIANTS"), key=lambda v: order.index(v.function))


def entry_by_id(entry_id):
    """The mistake or variant with this id (KeyError listing the near ones otherwise)."""
    for entry in [*mistakes(), *variants()]:
        if entry.id == entry_id:
            return entry
    near = sorted(e.id for e in [*mistakes(), *variants()] if entry_id.split("_")[0] in e.id)
    raise KeyError(f"no catalogue entry {entry_id!r}" + (f"; similar: {', '.join(near)}" if near else ""))
