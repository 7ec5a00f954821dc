"""Lab 3 hints: name the student's mistake from the evidence of a failed comparison.

Each function here gets what a check already has -- the drawn inputs, the
student's result (or the exception the student's code raised), the
reference's result -- and returns one or two sentences that say what the
student did and what to change (``None`` when no known mistake fits; the
check then words a general hint). Diagnoses rebuild the usual mistakes from
the inputs (a whole-activation standardization, a crop on one side, a
min-max scaled heatmap, ...) or read numeric signatures (three Grad-CAM
weights are the RGB channels of the input image; a vector of class indices
is an argmax over the batch axis). The student's source is read only to
choose words, never to award or take points.

Callers of the student's own functions (the ascent step calls filter_loss,
the pattern calls the step) first test the callee the way they use it:
when the callee is at fault their hint says so and blames nothing in the
caller (/work/notes/hint-style.md: "Your <callee> ... (see its check); fix
it first.").
"""

import contextlib
import re
import warnings

import numpy as np

from cvlab_ch9.grader.core import location_text

# -- shared -----------------------------------------------------------------------------


def _close(a, b, atol=1e-5, rtol=1e-4):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True))


def _student_text(exc):
    """The student's exception as text: type and first line."""
    name = getattr(exc, "remote_type", None) or type(exc).__name__
    lines = str(exc).splitlines()
    return f"{name}: {lines[0] if lines else ''}"


def unbatched_input_hint(exc, function, image_shape, student):
    """The model refused an (H, W, 3) image: the batch axis was not added. None if ``exc`` is something else."""
    text = str(exc)
    found = re.search(r"found shape=\(([\d, ]+)\)", text)
    if "incompatible" not in text.lower() or not found:
        return None
    if tuple(int(v) for v in found.group(1).split(",") if v.strip()) != tuple(image_shape):
        return None
    return (f"Your {function} passes the {tuple(image_shape)} image to the model without adding the batch axis"
            f"{location_text(exc, student)}: accept (H, W, 3) too by adding it, image[np.newaxis] -> (1, H, W, 3).")


@contextlib.contextmanager
def student_errors_explained(explain):
    """Re-raise an exception of the student's code as AssertionError(``explain(exc)``) when that gives a hint."""
    try:
        yield
    except (AssertionError, NotImplementedError):
        raise
    except Exception as exc:
        hint = explain(exc)
        if hint is None:
            raise
        raise AssertionError(hint) from exc


def _is_grading_failure(exc):
    """Failures that are not the student's function going wrong: never re-attributed to a callee."""
    from cvlab_ch9.grader.harness.local import MissingFunction  # noqa: PLC0415 - keeps this module's imports light
    from cvlab_ch9.grader.sandbox import SandboxFailure, SandboxViolationError, StudentExit  # noqa: PLC0415 - idem

    return isinstance(exc, (NotImplementedError, MissingFunction, SandboxFailure, SandboxViolationError, StudentExit))


@contextlib.contextmanager
def callee_first(fault):
    """A failure of the block becomes ``fault()``'s sentence when the student's callee is at fault.

    ``fault()`` tests the callee the way the caller uses it and returns
    "Your <callee> ... (see its check); fix it first." or None (the caller's
    own failure then propagates unchanged).
    """
    try:
        yield
    except Exception as exc:
        if _is_grading_failure(exc):
            raise
        message = fault()
        if message is None:
            raise
        raise AssertionError(message) from None


# -- extract_activations ------------------------------------------------------------------


def activation_shape_hint(name, got_shape, want_shape, requested):
    """A wrong activation shape: the batch axis kept, or one layer's predict() output zipped as if a list."""
    if got_shape == (1,) + tuple(want_shape):
        return (f"Your activation of {name} has shape {got_shape}, with the batch axis: "
                f"return activation[0], shape {tuple(want_shape)}.")
    if requested == 1 and got_shape == tuple(want_shape)[1:]:
        return (f"With a single layer name your activation of {name} has shape {got_shape} instead of "
                f"{tuple(want_shape)}: a model with one output returns one array, not a list, so zip paired "
                "the name with the array's first axis; wrap a single output in a list.")
    return None


def selected_by_name_hint(extra, layer_types):
    """Extra layers whose names say conv/pool: the layers were chosen by name."""
    if extra and all(re.search("conv|pool", n) for n in extra):
        kinds = ", ".join(f"{n} ({layer_types.get(n, '?')})" for n in extra)
        return (f"Your extract_activations selects layers by name and also returned {kinds}: "
                "choose them by class (Conv2D, SeparableConv2D, MaxPooling2D), not by name.")
    return None


# -- activation_grid -------------------------------------------------------------------------


def _tiles(values, per_row, draw_channel, swapped=False):
    """The canvas with every channel drawn by ``draw_channel``; None when a (swapped) position falls outside."""
    h, w, c = values.shape
    rows = -(-c // per_row)
    canvas = np.zeros(((h + 1) * rows - 1, (w + 1) * per_row - 1), dtype="uint8")
    for k in range(c):
        row, col = divmod(k, per_row)
        if swapped:
            row, col = col, row
        if row >= rows or col >= per_row:
            return None
        canvas[row * (h + 1): row * (h + 1) + h, col * (w + 1): col * (w + 1) + w] = draw_channel(values[:, :, k])
    return canvas


def _wrapped_uint8(x):
    """float -> uint8 without a clip, as the student's `.astype('uint8')` casts on this machine."""
    with np.errstate(invalid="ignore"):
        return np.asarray(x, "float64").astype("uint8")


GRID_MISTAKES = {
    "whole activation": ("Your activation_grid standardizes with the whole activation's mean and std; standardize "
                         "each channel with its own mean and std."),
    "min-max": ("Your activation_grid min-max scales each channel to 0..255; standardize it instead: "
                "(x - mean) / std * 64 + 128, clipped."),
    "no clip": ("Your activation_grid converts to uint8 without clipping, so values beyond 2 std wrap around; "
                "clip to 0..255 first."),
    "swapped": ("Your activation_grid swaps rows and columns: channel k goes to row k // images_per_row, "
                "column k % images_per_row."),
}


def grid_values_hint(values, per_row, got, pixel=None):
    """Which wrong standardization or placement drew ``got`` (uint8 canvas), or None.

    ``pixel`` = (row, col, got, want) of the largest difference, quoted in the hint when given.
    """
    values = np.asarray(values, "float64")
    mean, std = values.mean(), values.std()

    def spread(x):
        return np.clip(x * 64 + 128, 0, 255).astype("uint8")

    def own(ch):
        s = ch.std()
        return (ch - ch.mean()) / s if s > 0 else None

    def right(ch):
        scaled = own(ch)
        return 0 if scaled is None else spread(scaled)

    candidates = {
        "swapped": right,
        "whole activation": lambda ch: spread((ch - mean) / std) if ch.std() > 0 else 0,
        "min-max": lambda ch: (((ch - ch.min()) / (ch.max() - ch.min()) * 255).astype("uint8")
                               if ch.std() > 0 else 0),
        "no clip": lambda ch: _wrapped_uint8(own(ch) * 64 + 128) if ch.std() > 0 else 0,
    }
    for name, draw_channel in candidates.items():
        canvas = _tiles(values, per_row, draw_channel, swapped=name == "swapped")
        if canvas is not None and canvas.shape == got.shape and np.abs(canvas.astype(int) - got.astype(int)).max() <= 1:
            if pixel is None or name == "swapped":
                return GRID_MISTAKES[name]
            row, col, got_value, want_value = pixel
            return f"{GRID_MISTAKES[name][:-1]} (pixel ({row}, {col}): {got_value} instead of {want_value})."
    return None


def grid_broadcast_hint(exc, values, per_row, retry):
    """A channel did not fit the canvas: square tiles, rows and columns swapped, or too few rows.

    ``retry(values, per_row)`` runs the student's grid on another activation
    (returns the grid or raises): with an exact multiple of images_per_row
    channels floor and ceil agree, so only a swap still fails.
    """
    shapes = re.findall(r"shape \((\d+),\s*(\d+)\)", str(exc))
    if len(shapes) < 2:
        return None
    (th, tw), (ih, iw) = [(int(a), int(b)) for a, b in shapes[:2]]
    h, w, c = values.shape
    if (th, tw) == (h, w) and (ih, iw) in ((h, h), (w, w)) and h != w:
        return (f"Your activation_grid makes every tile square ({ih}, {iw}) for channels of height {h} and width {w}: "
                "use h for the rows and w for the columns of each tile.")
    if (ih < th or iw < tw) and per_row >= 3:
        whole = values[:, :, : 2 * per_row] if c >= 2 * per_row else np.resize(values, (h, w, 2 * per_row))
        try:
            retry(whole, per_row)
        except Exception:  # noqa: BLE001 - the probe's failure is the evidence
            return ("Your activation_grid swaps rows and columns (a channel landed below the last row): channel k "
                    "goes to row k // images_per_row, column k % images_per_row.")
        rows = -(-c // per_row)
        return (f"Your canvas has too few rows for {c} channels at {per_row} per row: use "
                f"rows = ceil({c} / {per_row}) = {rows} (floor division drops the last channels).")
    return None


# -- filter_loss ---------------------------------------------------------------------------


def filter_loss_hint(got, want, output, index):
    """Name the wrong reduction from the extractor's ``output`` (1, h, w, c) that gives ``got``, or None."""
    numbers = f"({got:.5g} instead of {want:.5g} for filter_index={index})"
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of an empty slice (channels first) is NaN
        candidates = [
            (output[..., index].mean(),
             f"Your filter_loss averages the whole feature map, 2-pixel border included {numbers}: leave the "
             "border out, activation[:, 2:-2, 2:-2, filter_index]."),
            (output[:, 2:, 2:, index].mean(),
             f"Your filter_loss crops the border on one side only {numbers}: crop 2 pixels from both sides, "
             "activation[:, 2:-2, 2:-2, filter_index]."),
            (output[:, 2:-2, 2:-2, :].mean(),
             f"Your filter_loss averages every channel {numbers}: keep only channel filter_index, "
             "activation[:, 2:-2, 2:-2, filter_index]."),
            (output[:, 2:-2, 2:-2, index].sum(), f"Your filter_loss sums the activation {numbers}: take its mean."),
            (-want, f"Your filter_loss has the wrong sign {numbers}: return the mean itself, not minus it "
                    "(the steps ascend it)."),
            (output[:, index, 2:-2, 2:-2].mean(),
             f"Your filter_loss indexes the filter on axis 1, channels first {numbers}: the channels are the "
             "last axis, activation[:, 2:-2, 2:-2, filter_index]."),
        ]
    for value, hint in candidates:
        if _close(got, value):
            return hint
    return None


def no_gradient_hint(source):
    """filter_loss gave no gradient; the student's source chooses the words."""
    how = "a numpy or .predict() result"
    if ".predict(" in source:
        how = "model.predict(), which returns numpy"
    elif ".numpy()" in source or "np." in source:
        how = "numpy (.numpy() or np.*)"
    return (f"Your filter_loss gives no gradient: it computes with {how}, which TensorFlow cannot differentiate; "
            "call feature_extractor(image) and reduce with tf/keras ops.")


def filter_loss_fault(student, gradient_of_filter_loss):
    """Why the student's filter_loss cannot drive a step (no gradient, NaN, raises), or None.

    ``gradient_of_filter_loss()`` returns ``(loss, grads)`` of the student's filter_loss.
    """
    if not student.has("filter_loss"):
        return None
    try:
        loss, grads = gradient_of_filter_loss()
    except Exception as exc:
        if _is_grading_failure(exc):
            raise
        return f"Your filter_loss raised {_student_text(exc)} (see its check); fix it first."
    with np.errstate(all="ignore"):
        if not np.all(np.isfinite(np.asarray(loss, dtype="float64"))):
            return "Your filter_loss returns NaN here (see its check); fix it first."
        if grads is None or not np.all(np.isfinite(grads)) or not np.any(grads):
            return "Your filter_loss gives no gradient (see its check); fix it first."
    return None


def step_fault(student, before, run_step):
    """Why the student's gradient_ascent_step cannot drive the pattern (raises, no move, NaN), or None.

    ``run_step()`` runs the student's step once on ``before`` (1, H, W, 3).
    """
    if not student.has("gradient_ascent_step"):
        return None
    try:
        after = run_step()
    except Exception as exc:
        if _is_grading_failure(exc):
            raise
        return f"Your gradient_ascent_step raised {_student_text(exc)} (see its check); fix it first."
    if not isinstance(after, np.ndarray) or after.shape != before.shape:
        return (f"Your gradient_ascent_step returns {getattr(after, 'shape', type(after).__name__)}, not an image of "
                f"shape {before.shape} (see its check); fix it first.")
    if not np.all(np.isfinite(after)):
        return "Your gradient_ascent_step returns NaN values (see its check); fix it first."
    if np.allclose(after, before, atol=1e-7):
        return "Your gradient_ascent_step does not change the image (see its check); fix it first."
    return None


# -- gradient_ascent_step -----------------------------------------------------------------


def step_error_hint(exc, student):
    """The step raised: a None gradient (no tape.watch, loss outside the tape), or None."""
    text = str(exc)
    if "None" not in text:
        return None
    source = student.source("gradient_ascent_step")
    where = location_text(exc, student)
    if source and "watch(" not in source:
        return (f"Your gradient_ascent_step gets no gradient, tape.gradient returned None{where}: the image is a "
                "plain tensor, not a variable; call tape.watch(image) inside the tape, before filter_loss.")
    return (f"Your gradient_ascent_step gets no gradient, tape.gradient returned None{where}: compute the loss "
            "inside the `with tf.GradientTape() as tape:` block, after tape.watch(image).")


def step_result_hint(step, result, raw, rate):
    """A wrong step (``result - image``) from the gradient ``raw``: RMS instead of L2, the update returned."""
    raw = np.asarray(raw, "float64")
    norm = np.linalg.norm(raw)
    if norm == 0:
        return None
    step_norm = float(np.linalg.norm(step))
    if _cosine(step, raw) > 0.999 and np.isclose(step_norm / rate, np.sqrt(raw.size), rtol=1e-2):
        return (f"Your gradient_ascent_step divides the gradient by its RMS, sqrt(mean(grads ** 2)): the step's L2 "
                f"norm is {step_norm:.4g} instead of learning_rate = {rate}; divide by the L2 norm, "
                "tf.math.l2_normalize(grads).")
    if rate != 10.0 and _cosine(step, raw) > 0.999 and np.isclose(step_norm, 10.0, rtol=1e-3):
        return (f"Your gradient_ascent_step steps by 10.0 whatever learning_rate is ({rate} here): multiply the "
                "normalized gradient by the learning_rate argument.")
    if _close(result, rate * raw / norm, atol=1e-4, rtol=1e-3):
        return ("Your gradient_ascent_step returns only the step learning_rate * grads: return the updated image, "
                "image + learning_rate * grads.")
    return None


def _cosine(a, b):
    a, b = np.ravel(a).astype("float64"), np.ravel(b).astype("float64")
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


# -- deprocess_image ------------------------------------------------------------------------


def deprocess_values_hint(given, crop, got):
    """Which wrong scaling gives ``got`` (uint8, cropped) from ``given`` (float (H, W, 3)), or None."""
    x = np.asarray(given, "float64")
    centred = x - x.mean()
    std = centred.std()
    per_channel = (x - x.mean(axis=(0, 1))) / x.std(axis=(0, 1))
    old = np.clip(centred / std * 0.1 + 0.5, 0, 1) * 255
    candidates = [
        (_wrapped_uint8(centred / std * 64 + 128),
         "Your deprocess_image lets values beyond 0..255 wrap around in the uint8 conversion: clip to 0..255 "
         "before `.astype('uint8')`."),
        (np.clip(x / std * 64 + 128, 0, 255).astype("uint8"),
         "Your deprocess_image divides by the std without subtracting the mean first: center the image "
         "(x - mean), then divide by the std."),
        (np.clip(per_channel * 64 + 128, 0, 255).astype("uint8"),
         "Your deprocess_image standardizes each color channel separately: use one mean and std over the whole image."),
        (old.astype("uint8"),
         "Your deprocess_image scales to std 0.1 around 0.5 and multiplies by 255 (the old Keras example): "
         "use (x - mean) / std * 64 + 128."),
    ]
    height, width = x.shape[:2]
    for candidate, hint in candidates:
        cropped = candidate[crop: height - crop, crop: width - crop]
        if cropped.shape == got.shape and np.abs(cropped.astype(int) - got.astype(int)).max() <= 1:
            return hint
    return None
