"""Lab 3 checks, part 1: intermediate activations (extract_activations, activation_grid).

The student's functions run on the grader's drawn test models and inputs
(:mod:`cvlab_ch9.grader.checks.interpretation_models`) and are compared with the
reference's results on the same draw (recorded on the fixed draw, or
computed from solutions/ on the instructor's secret one).
"""

import math
import warnings

import numpy as np

from cvlab_ch9.grader.checks.interpretation_hints import (
    activation_shape_hint,
    grid_broadcast_hint,
    grid_values_hint,
    selected_by_name_hint,
    student_errors_explained,
    unbatched_input_hint,
)
from cvlab_ch9.grader.checks.interpretation_models import (
    LAB,
    as_array,
    as_float_array,
    called_sequential,
    chain,
    is_shape_error,
    layer_subset,
    probe_image,
    student_call,
)
from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.draw import distinct, integers
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.modeltools import assert_close, type_name

DEFAULT_ACTIVATION_LAYERS = ("Conv2D", "SeparableConv2D", "MaxPooling2D")


def _expected_default_names(model):
    return [layer.name for layer in model.layers if type(layer).__name__ in DEFAULT_ACTIVATION_LAYERS]


def chain_image(draw):
    return probe_image(draw, "activations_chain", chain(draw).input_shape)


def sequential_case(draw):
    """The Sequential test model's drawn image and a drawn ordered choice of its layer names."""
    model = called_sequential(draw).model
    names = layer_subset(draw.rng(LAB, "activations_sequential", "names"), _expected_default_names(model))
    return probe_image(draw, "activations_sequential", called_sequential(draw).input_shape), names


def one_layer_case(draw):
    """One drawn default-type layer of the chain model, an image, and a drawn unknown layer name."""
    rng = draw.rng(LAB, "unknown_layer")
    names = _expected_default_names(chain(draw).model)
    unknown = "layer_" + "".join(rng.choice(list("abcdefghjkmnpqrstuvwxyz0123456789"), size=6))
    return names[integers(rng, 0, len(names) - 1)], probe_image(draw, "unknown_layer", chain(draw).input_shape), unknown


@expectation(LAB)
def activations_chain(ref, draw):
    return ref.call("extract_activations", chain(draw).model, chain_image(draw))


@expectation(LAB)
def activations_sequential(ref, draw):
    model = called_sequential(draw).model
    given, names = sequential_case(draw)
    return {
        "default": ref.call("extract_activations", model, given),
        "named": ref.call("extract_activations", model, given, layer_names=names),
    }


@expectation(LAB)
def activations_one_layer(ref, draw):
    name, given, _ = one_layer_case(draw)
    return ref.call("extract_activations", chain(draw).model, given, layer_names=[name])


def _check_activation_dict(got, ref, model):
    """Compare a student's activation dict with the reference's, with hints."""
    if not isinstance(got, dict):
        raise AssertionError(f"Your extract_activations returns a {type_name(got)}: return a dict "
                             "{layer name: activation}.")
    names, expected = list(got), list(ref)
    if names != expected:
        layer_types = {layer.name: type(layer).__name__ for layer in model.layers}
        extra = [n for n in names if n not in expected]
        missing = [n for n in expected if n not in names]
        if extra:
            kinds = ", ".join(f"{n} ({layer_types.get(n, '?')})" for n in extra)
            raise AssertionError(selected_by_name_hint(extra, layer_types) or (
                f"Your extract_activations also returned {kinds}: by default return only Conv2D, SeparableConv2D "
                "and MaxPooling2D layers."))
        if missing:
            kinds = ", ".join(f"{n} ({layer_types.get(n, '?')})" for n in missing)
            raise AssertionError(
                f"Your extract_activations is missing {kinds}: select every layer whose class is Conv2D, "
                "SeparableConv2D or MaxPooling2D (SeparableConv2D is not a subclass of Conv2D)."
            )
        how = " sorted by name" if names == sorted(names) else ""
        raise AssertionError(f"Your extract_activations returns the keys{how}, {names}; keep the model's layer order: "
                             f"{expected}.")
    for name in expected:
        assert_activation(got[name], ref[name], name, len(expected))


def assert_activation(value, want, name, requested):
    """The student's activation of layer ``name`` against the reference's (``requested`` layers were asked for)."""
    value = as_float_array(value, f"the activation of {name}")
    hint = activation_shape_hint(name, value.shape, want.shape, requested)
    if hint:
        raise AssertionError(hint)
    assert_close(value, want, f"Your activation of layer {name}", atol=1e-4, rtol=1e-3)


@check(LAB, "extract_activations", points=2)
def check_default_layers(student, expected):
    """returns every Conv2D, SeparableConv2D and MaxPooling2D output, (h, w, c), in model order"""
    model = chain(expected.draw).model
    given = chain_image(expected.draw)
    ref = expected["activations_chain"]
    with student_errors_explained(lambda exc: unbatched_input_hint(exc, "extract_activations", given.shape, student)):
        got = student_call(student, "extract_activations", model, given)
    _check_activation_dict(got, ref, model)
    batched = student_call(student, "extract_activations", model, given[np.newaxis])
    if not isinstance(batched, dict) or list(batched) != list(ref):
        raise AssertionError("Your extract_activations gives another result for (1, H, W, 3) than for (H, W, 3): "
                             "accept an image with a batch axis too.")
    _check_activation_dict(batched, ref, model)


@check(LAB, "extract_activations", points=1)
def check_sequential_and_names(student, expected):
    """works on a Sequential model and honours layer_names (in the order given)"""
    model = called_sequential(expected.draw).model
    given, names = sequential_case(expected.draw)
    ref = expected["activations_sequential"]
    _check_activation_dict(student_call(student, "extract_activations", model, given), ref["default"], model)
    got = student_call(student, "extract_activations", model, given, layer_names=names)
    if not isinstance(got, dict) or list(got) != names:
        keys = list(got) if isinstance(got, dict) else type_name(got)
        if isinstance(got, dict) and sorted(keys) == sorted(names):
            raise AssertionError(f"Your extract_activations returns the requested layers in the model's order, {keys}, "
                                 f"for layer_names={names}: keep the order given in layer_names.")
        if isinstance(got, dict) and keys == list(ref["default"]):
            raise AssertionError(f"Your extract_activations ignores layer_names={names}: it returned the default "
                                 f"layers {keys}; return exactly the layers asked for, in that order.")
        raise AssertionError(f"Your extract_activations returns {keys} for layer_names={names}: return exactly those "
                             "layers, in that order.")
    for name in names:
        assert_activation(got[name], ref["named"][name], name, len(names))
    try:
        empty = student_call(student, "extract_activations", model, given, layer_names=[])
    except Exception:  # noqa: BLE001 - the contract does not say what [] raises; only an answer is checked
        return
    if not isinstance(empty, dict) or empty:
        shown = f"{len(empty)} layers" if isinstance(empty, dict) else type_name(empty)
        raise AssertionError(f"Your extract_activations returned {shown} for layer_names=[] (an empty list): return {{}}; "
                             "only None means the default layers (test `layer_names is None`).")


@check(LAB, "extract_activations", points=1)
def check_unknown_layer(student, expected):
    """an unknown layer name raises ValueError listing the model's layers (known names still work)"""
    model = chain(expected.draw).model
    name, given, unknown = one_layer_case(expected.draw)
    func = student.function("extract_activations")
    got = student_call(student, "extract_activations", model, given, layer_names=[name])
    if not isinstance(got, dict) or list(got) != [name]:
        raise AssertionError(f"Your extract_activations returns {list(got) if isinstance(got, dict) else type_name(got)} "
                             f"for layer_names=[{name!r}]: first make layer_names work (see the other checks); raising "
                             "for unknown names earns nothing on its own.")
    assert_activation(got[name], expected["activations_one_layer"][name], name, 1)
    try:
        func(model, given, layer_names=[unknown])
    except KeyError as exc:
        raise AssertionError(
            f"Your extract_activations raised KeyError({exc}) for an unknown layer name: raise ValueError listing "
            "the available layers (model.get_layer(name) does)."
        ) from exc
    except ValueError as exc:
        if not any(layer in str(exc) for layer in _expected_default_names(model)):
            raise AssertionError(
                f"Your ValueError does not list the layer names one may use (e.g. conv1, sepconv); it said: {exc}"
            ) from None
        return
    raise AssertionError(
        f"Your extract_activations raised nothing for layer_names=[{unknown!r}]: raise ValueError listing the "
        "available layers (model.get_layer(name) already does)."
    )


# -- activation_grid -----------------------------------------------------------


def activation(rng, shape, constant_channels=()):
    """Drawn float32 (h, w, c) activation, normal around a drawn mean and scale; ``constant_channels`` constant."""
    values = rng.normal(rng.uniform(-1.0, 2.0), rng.uniform(0.5, 3.0), size=shape).astype("float32")
    for k in constant_channels:
        values[:, :, k] = rng.integers(-8, 16) / 4  # exact in float32: the std is exactly 0
    return values


def grid_case(draw, stream):
    """A drawn activation (h, w, c) with one constant channel, and images_per_row that leaves the last row short."""
    rng = draw.rng(LAB, stream)
    per_row = integers(rng, 3, 8)
    channels = per_row * integers(rng, 1, 3) + integers(rng, 1, per_row - 1)
    shape = (integers(rng, 3, 7), integers(rng, 3, 7), channels)
    return activation(rng, shape, constant_channels=distinct(rng, 0, channels - 1, 1)), per_row


def tile(grid_, shape, per_row, k):
    """Channel ``k``'s tile of an activation grid."""
    h, w = shape[:2]
    row, col = divmod(k, per_row)
    return grid_[row * (h + 1): row * (h + 1) + h, col * (w + 1): col * (w + 1) + w]


def grid(student, values, **kwargs):
    """The student's grid; AssertionError when a NaN from 0 / 0 reached the uint8 conversion.

    Warnings raised in the sandbox are re-issued here, so ``catch_warnings`` sees them.
    """
    with warnings.catch_warnings(record=True) as caught, np.errstate(divide="warn", invalid="warn"):
        warnings.simplefilter("always", RuntimeWarning)
        try:
            result = student_call(student, "activation_grid", values, **kwargs)
        except ValueError as exc:
            if "negative dimensions" in str(exc):
                raise AssertionError(
                    f"Your activation_grid failed for {values.shape[-1]} channels ({exc}): with fewer channels "
                    "than images_per_row, floor division gives 0 rows. rows = math.ceil(channels / images_per_row)."
                ) from exc
            if is_shape_error(exc):
                per_row = kwargs.get("images_per_row", 16)
                raise AssertionError(grid_broadcast_hint(exc, values, per_row, lambda v, n: grid(student, v, images_per_row=n))
                                     or (f"Your activation_grid failed to place a channel in the canvas "
                                         f"({str(exc).splitlines()[0]}): channel k goes to row k // images_per_row at "
                                         "y = row * (h + 1), column k % images_per_row at x = col * (w + 1).")) from exc
            raise
    # np.where(std > 0, (x - m) / std, 0) warns "in divide" but discards the NaN: that is fine.
    # A NaN cast to uint8 warns "in cast": the constant channel was divided by its zero std.
    if any("cast" in str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)):
        raise AssertionError(
            "Your activation_grid divides by a zero std on a constant channel (0 / 0 = NaN, then cast to uint8): test "
            "the channel's std (`if std > 0`), not its sum, before standardizing, and draw it 0 otherwise."
        )
    return as_array(result, "activation_grid")


@expectation(LAB)
def grid_values(ref, draw):
    values, per_row = grid_case(draw, "grid_values")
    return ref.call("activation_grid", values, images_per_row=per_row)


@check(LAB, "activation_grid", points=2)
def check_grid_shape(student, expected):
    """rows = ceil(c / images_per_row), 1-pixel gutters, uint8 2-D canvas that draws every channel"""
    values, per_row = grid_case(expected.draw, "grid_shape")
    h, w, c = values.shape
    rows = math.ceil(c / per_row)
    want = ((h + 1) * rows - 1, (w + 1) * per_row - 1)
    got = grid(student, values, images_per_row=per_row)
    if got.shape != want:
        if got.shape == ((h + 1) * (c // per_row) - 1, want[1]):
            raise AssertionError(
                f"Your grid has {c // per_row} rows (floor) for {c} channels at {per_row} per row, which drops the "
                f"last channels: use ceil({c} / {per_row}) = {rows} rows, math.ceil."
            )
        if got.shape == (h * rows, w * per_row):
            raise AssertionError(f"Your grid has no gutters, shape {got.shape}: leave a 1-pixel zero gutter between "
                                 f"channels, shape {want}.")
        columns = (got.shape[1] + 1) / (w + 1) if got.ndim == 2 else 0
        if columns != per_row and columns == int(columns):
            raise AssertionError(f"Your grid has {int(columns)} columns although images_per_row={per_row}: use the "
                                 f"images_per_row argument (shape {want}, got {got.shape}).")
        raise AssertionError(
            f"Your grid has shape {got.shape} for an activation of shape {values.shape} and images_per_row={per_row}; "
            f"it must be ((h + 1) * rows - 1, (w + 1) * images_per_row - 1) = {want}."
        )
    if got.dtype != np.uint8:
        raise AssertionError(f"Your grid has dtype {got.dtype}: return uint8 (`.astype('uint8')` after clipping to 0..255).")
    if got[h, :].any() or got[:, w].any():
        raise AssertionError("Your gutters are not 0: the 1-pixel gutters between channels must be 0.")
    blank = [k for k in range(c) if values[:, :, k].std() > 0 and tile(got, values.shape, per_row, k).std() == 0]
    if blank:
        raise AssertionError(grid_values_hint(values, per_row, got) or (
            f"Your tile of channel {blank[0]} is flat although the channel varies: draw each channel's standardized "
            "values (channel k at row k // images_per_row, column k % images_per_row)."))
    _assert_grid_edges(student, values, per_row)


def _assert_grid_edges(student, values, per_row):
    """One channel gives one row; an exact multiple of images_per_row channels needs no extra row."""
    h, w, c = values.shape
    single = values[:, :, :1]
    with student_errors_explained(lambda exc: (
            f"Your activation_grid fails for an activation with one channel, shape {single.shape} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''}): keep the channel axis; "
            "do not squeeze or drop it.")):
        got = grid(student, single, images_per_row=per_row)
    if got.shape == (h, w):
        raise AssertionError(f"Your grid of one channel is only as wide as that channel, shape {got.shape}: keep "
                             f"images_per_row={per_row} columns (full width), shape {(h, (w + 1) * per_row - 1)}.")
    if got.shape != (h, (w + 1) * per_row - 1):
        raise AssertionError(f"Your grid of an activation with one channel, shape {single.shape}, has shape {got.shape}; "
                             f"it must be {(h, (w + 1) * per_row - 1)}: keep the channel axis.")
    rows = c // per_row
    exact = values[:, :, : rows * per_row]
    got = grid(student, exact, images_per_row=per_row)
    if got.ndim == 2 and got.shape[0] != (h + 1) * rows - 1:
        shown = (got.shape[0] + 1) / (h + 1)
        raise AssertionError(f"Your grid has {shown:g} rows for {rows * per_row} channels at {per_row} per row, an exact "
                             f"multiple: it needs ceil({rows * per_row} / {per_row}) = {rows}, no extra row (math.ceil, "
                             "not // + 1).")


@check(LAB, "activation_grid", points=2)
def check_grid_values(student, expected):
    """each channel standardized to (x - mean) / std * 64 + 128; a constant channel is drawn 0"""
    values, per_row = grid_case(expected.draw, "grid_values")
    got = grid(student, values, images_per_row=per_row)
    want = expected["grid_values"]
    if got.shape != want.shape:
        raise AssertionError(f"Your grid has shape {got.shape}, not {want.shape} (see the shape check).")
    h, w = values.shape[:2]
    constant = next(k for k in range(values.shape[-1]) if values[:, :, k].std() == 0)
    constant_tile = tile(got, values.shape, per_row, constant)
    if constant_tile.any():
        raise AssertionError(
            f"Your tile of channel {constant} has values like {int(constant_tile.max())}, but the channel is constant "
            "(std 0) and must be drawn 0: check `if std > 0` before standardizing."
        )
    diff = np.abs(got.astype(int) - want.astype(int))
    if diff.max() > 1:
        row, col = np.unravel_index(diff.argmax(), diff.shape)
        channel = (row // (h + 1)) * per_row + col // (w + 1)
        raise AssertionError(grid_values_hint(values, per_row, got, (row, col, got[row, col], want[row, col])) or (
            f"Your tile of channel {channel} differs from (x - mean) / std * 64 + 128 clipped to 0..255 "
            f"(pixel ({row}, {col}): {got[row, col]} instead of {want[row, col]}); channel k goes to "
            "row k // images_per_row, column k % images_per_row."
        ))
