"""Words for a student's result that is outside its contract: shown beside the picture, never silently fixed.

A heatmap is float (h, w) in [0, 1] without NaN; a grid or a picture is
uint8 0..255 of a known shape. The UI draws what it can of any result
(clipped), and these functions say in one sentence each what is outside
the contract and what that usually means.
"""

import numpy as np

from cvlab_ch9.ui.common import NOT_IMPLEMENTED_NEXT


def _count(mask):
    return f"{int(mask.sum())} of {mask.size}"


def heatmap_problems(heatmap, function="grad_cam"):
    """Sentences for a heatmap outside float [0, 1] (NaN, infinite, negative, above 1); [] when it is inside.

    Args:
        heatmap: the student's (h, w) result, any numeric dtype.
    """
    heatmap = np.asarray(heatmap, dtype="float64")
    problems = []
    nan = np.isnan(heatmap)
    if nan.any():
        problems.append(f"{function}() returned NaN in {_count(nan)} values (drawn gray): divide by the max only when it is > 0.")
    infinite = np.isinf(heatmap)
    if infinite.any():
        problems.append(f"{function}() returned infinite values in {_count(infinite)} places: divide by the max only when it is > 0.")
    finite = heatmap[np.isfinite(heatmap)]
    if finite.size and finite.min() < 0:
        problems.append(
            f"{function}() returned values below 0 (down to {finite.min():.3g}) in {_count(heatmap < 0)} places, drawn as 0: "
            "a heatmap keeps only the evidence *for* the class (a ReLU before dividing by the max)."
        )
    if finite.size and finite.max() > 1 + 1e-6:
        problems.append(f"{function}() returned values above 1 (up to {finite.max():.3g}), drawn as 1: divide the heatmap by its max.")
    return problems


def picture_problems(picture, function, expected_shape=None, what="picture"):
    """Sentences for a picture outside uint8 0..255 or of another shape than ``expected_shape``; [] when it fits.

    Args:
        picture: the student's array as returned (before the UI clips it).
        function: the student's function, named in the sentence.
        expected_shape: the shape the contract gives, or None.
        what: how the sentence calls the result ("grid", "pattern", "overlay").
    """
    array = np.asarray(picture)
    problems = []
    if expected_shape is not None and tuple(array.shape) != tuple(expected_shape):
        problems.append(f"{function}() returned a {what} of shape {tuple(array.shape)}; the contract gives {tuple(expected_shape)}.")
    if array.dtype != np.uint8:
        values = array.astype("float64")
        finite = values[np.isfinite(values)]
        low, high = (finite.min(), finite.max()) if finite.size else (np.nan, np.nan)
        outside = not finite.size or finite.size < values.size or low < 0 or high > 255
        sentence = f"{function}() returned {array.dtype} values from {low:.3g} to {high:.3g}; the contract is uint8 0..255"
        if outside:
            sentence += " (drawn clipped to 0..255"
            sentence += ", NaN as 0)." if finite.size < values.size else ")."
        else:
            sentence += " (cast with .astype(\"uint8\") after clipping)."
        problems.append(sentence)
    return problems


def clipped_uint8(picture):
    """What the UI draws of a picture: NaN as 0, values clipped to 0..255, uint8."""
    return np.clip(np.nan_to_num(np.asarray(picture, dtype="float64")), 0, 255).astype("uint8")


def with_problems(status, problems):
    """``status`` markdown followed by one "⚠" line per problem."""
    lines = [status] if status else []
    lines += [f"⚠ {p}" for p in problems]
    return "  \n".join(lines)


def then_sentence(reference_shown):
    """What a not-implemented sentence ends with: the pointer to the reference result, only where one is shown."""
    return NOT_IMPLEMENTED_NEXT if reference_shown else ""
