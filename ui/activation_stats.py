"""What each layer keeps of the image: two numbers per layer and their plot (the Activations tab).

The chapter makes three observations about intermediate activations: the
first layers keep almost all of the image, deeper ones are more abstract,
and sparsity grows with depth. Two numbers per layer make them visible:

- **blank channels**: the share of channels with no positive value (after a
  ReLU they are all zero) or one constant value; the chapter's "more and
  more filters are blank".
- **fine detail kept**: how much of the image's fine detail (its brightness
  minus a blurred copy: edges and texture) the best weighted sum of the
  layer's channels, each enlarged to the image's size, reproduces (R² of a
  least-squares fit, 0..1). A layer that still holds the picture reproduces
  it; a small, abstract one cannot.
"""

import numpy as np

#: Largest side the detail is measured at (the image and the channels are resized to it).
WORK_SIDE = 48
#: Channels (those that vary most) the read-out may combine; far fewer than the pixels it fits.
READOUT_CHANNELS = 48
#: Standard deviation, in pixels at the working size, of the blur that separates fine detail from the rest.
BLUR_SIGMA = 2.0


def blank_share(activation):
    """Share (0..1) of the channels of a float (h, w, c) activation that are blank: max <= 0 or constant."""
    flat = np.asarray(activation, dtype="float64").reshape(-1, np.shape(activation)[-1])
    blank = (flat.max(axis=0) <= 0) | (flat.max(axis=0) == flat.min(axis=0))
    return float(blank.mean()) if blank.size else 0.0


def _resize(array, size):
    """Bilinear resize of a float (h, w) array to ``size`` = (H, W)."""
    from PIL import Image  # noqa: PLC0415

    return np.asarray(Image.fromarray(np.asarray(array, dtype="float32"), mode="F").resize(size[::-1], Image.BILINEAR))


def _blur(image, sigma=BLUR_SIGMA):
    """Gaussian blur of a float (H, W) image (separable, reflected borders)."""
    radius = int(3 * sigma)
    kernel = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma**2))
    kernel /= kernel.sum()
    padded = np.pad(image, radius, mode="reflect")
    rows = np.apply_along_axis(np.convolve, 1, padded, kernel, "valid")
    return np.apply_along_axis(np.convolve, 0, rows, kernel, "valid")


def fine_detail(image):
    """The fine detail of a float (H, W, 3) model input: its brightness minus a blurred copy, at the working size."""
    brightness = np.asarray(image, dtype="float64").mean(axis=-1)
    height, width = brightness.shape
    scale = min(1.0, WORK_SIDE / max(height, width))
    size = (max(8, round(height * scale)), max(8, round(width * scale)))
    brightness = _resize(brightness, size).astype("float64")
    return brightness - _blur(brightness)


def detail_kept(activation, detail):
    """R² (0..1) of the best least-squares read-out of ``detail`` (H, W) from the channels of (h, w, c) ``activation``."""
    activation = np.asarray(activation, dtype="float64")
    spread = activation.reshape(-1, activation.shape[-1]).std(axis=0)
    chosen = [k for k in np.argsort(spread)[::-1][:READOUT_CHANNELS] if spread[k] > 0]
    target = detail.reshape(-1)
    if not chosen or target.var() == 0:
        return 0.0
    design = np.empty((target.size, len(chosen) + 1))
    for column, k in enumerate(chosen):
        design[:, column] = _resize(activation[..., k], detail.shape).reshape(-1)
    design[:, -1] = 1.0
    # normal equations (a few dozen unknowns, thousands of pixels), with a whisper of ridge for constant columns
    gram = design.T @ design
    gram[np.diag_indices_from(gram)] += 1e-9 * np.trace(gram) / len(gram)
    coefficients = np.linalg.solve(gram, design.T @ target)
    residual = target - design @ coefficients
    return float(np.clip(1 - residual.var() / target.var(), 0, 1))


def layer_stats(activations, image):
    """{layer: (blank share, fine detail kept)} for each float (h, w, c) activation of the float (H, W, 3) ``image``.

    Layers whose value is not a finite 3-D array are left out (the tab says why).
    """
    detail = fine_detail(image)
    stats = {}
    for name, activation in activations.items():
        activation = np.asarray(activation)
        if activation.ndim != 3 or not np.issubdtype(activation.dtype, np.number) or not np.all(np.isfinite(activation)):
            continue
        stats[name] = (blank_share(activation), detail_kept(activation, detail))
    return stats


def stats_plot(series, layer_order, width=900, height=300):
    """The plot of the stats as a uint8 (height, width, 3) picture.

    Args:
        series: {label: {layer: (blank, detail)}}, e.g. ``{"yours": ..., "reference": ...}``;
            the first is drawn solid, the others dashed and lighter.
        layer_order: the layers on the x axis, in model order.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - matplotlib is slow to import
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(width / 100, height / 100), dpi=100)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = np.arange(len(layer_order))
    styles = [{"linestyle": "-", "alpha": 1.0, "marker": "o"}, {"linestyle": "--", "alpha": 0.6, "marker": "x"}]
    for number, (label, stats) in enumerate(series.items()):
        style = styles[min(number, 1)]
        for index, (what, colour) in enumerate((("blank channels", "tab:red"), ("fine detail kept", "tab:blue"))):
            values = [100 * stats[n][index] if n in stats else np.nan for n in layer_order]
            axes.plot(x, values, color=colour, markersize=4, label=f"{what} ({label})", **style)
    axes.set_ylim(-3, 103)
    axes.set_ylabel("% of the layer")
    axes.set_xticks(x, layer_order, rotation=35 if len(layer_order) > 6 else 0, ha="right" if len(layer_order) > 6 else "center",
                    fontsize=7 if len(layer_order) > 14 else 8)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    # room on top for the label gr.Image draws over the picture's corner
    figure.subplots_adjust(left=0.07, right=0.76, top=0.86, bottom=0.3 if len(layer_order) > 6 else 0.15)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
