"""The interpretation tabs per click, and the evidence for the Filters tab's defaults.

- ``clicks``: the time from a click to the handler's answer (in this
  process, no HTTP; ``python -m bench --sections ui`` measures through
  the served app) for the Grad-CAM comparison of two classes, the
  activations explorer and the filters, on the demo models. The student's
  side runs the reference solution as a student's code runs (loaded
  afresh, eager), the reference side the UI's fast paths.
- ``patterns``: for every filter layer of the demo models, whether gradient
  ascent moves the filters from the gray start and how structured the
  patterns are, with the book's settings as they were applied before
  (learning rate 10 on the layer's output after its ReLU, start 0.4..0.6)
  and with the UI's (:func:`cvlab_ch9.ui.classifiers.ascent_settings`,
  the output before the ReLU). ``python -m bench.clicks --sheet PATH``
  also draws the patterns side by side.
"""

import argparse
import platform
import sys

import numpy as np

from bench.timing import fmt_s, median, table, time_call

MODELS = ("convnet", "mini_xception")


def cpu_model():
    """The CPU's model name (``lscpu``'s "Model name"), else the platform's processor string."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _photo():
    """A real photo an installed package ships (Gradio's lion), else the bundled photograph."""
    from cvlab_ch9.models.real_photos import PHOTOS, photo_path  # noqa: PLC0415
    from cvlab_ch9.ui.resources import example_images  # noqa: PLC0415

    lion = next(p for p in PHOTOS if p.name == "lion")
    return str(photo_path(lion) or example_images("photo_")[0])


def _timed_row(label, func, repeat):
    """[label, first, steady median, what] for ``func`` called once, then ``repeat`` more times."""
    first, _ = time_call(func)
    steady = [time_call(func)[0] for _ in range(repeat)]
    return [label, fmt_s(first), fmt_s(median(steady)), f"median of {repeat}"]


def clicks(quick):
    """Seconds per click of the Grad-CAM, Activations and Filters tabs' handlers on the demo models."""
    from cvlab_ch9.ui import classifiers, tabs_activations, tabs_filters, tabs_gradcam  # noqa: PLC0415 - imports TF

    repeat = 1 if quick else 5
    models = MODELS[:1] if quick else MODELS
    photo = _photo()
    rows = []
    for model in models:
        size = "x".join(str(s) for s in classifiers.model_info(model)["input_size"])
        rows.append(_timed_row(f"Grad-CAM, both classes side by side ({model} {size})",
                               lambda model=model: tabs_gradcam.run_grad_cam("solutions", model, photo, "", [], 0.4), repeat))
        outputs = {}

        def show(model=model, outputs=outputs):
            outputs["run"] = tabs_activations.run_activations("solutions", model, photo, [], 8)

        rows.append(_timed_row(f"Activations: every default layer, stats and plot ({model})", show, repeat))
        explored, layer = outputs["run"][6], outputs["run"][7]["value"]
        rows.append(_timed_row(f"  explorer: a layer's numbered channels ({model})",
                               lambda explored=explored, layer=layer: tabs_activations.open_layer(explored, layer), repeat))
        rows.append(_timed_row(f"  explorer: one channel large and over the photo ({model})",
                               lambda explored=explored, layer=layer: tabs_activations.open_channel(explored, layer, 1), repeat))
    count, steps = (2, 5) if quick else (8, 30)
    for model in models:
        layer = classifiers.layer_choices(model)["filter_default"]

        def filters(model=model, layer=layer):
            for _ in tabs_filters.run_filters("solutions", model, layer, count, steps, True, progress=lambda *a, **k: None):
                pass

        rows.append(_timed_row(f"Filters: {count} filters x {steps} steps, snapshots, patches ({model} {layer})", filters, 1))
    title = (f"Interpretation tabs per click, in-process handlers (student side: the solution, eager; reference: fast paths), "
             f"on {cpu_model()}, {_cpu_count()} CPUs")
    return table(title, ["click", "first", "steady", "repetitions"], rows)


def _cpu_count():
    import os  # noqa: PLC0415

    return os.cpu_count()


# -- filter defaults ---------------------------------------------------------------------------


def structure(pattern):
    """Lag-1 autocorrelation of a float (H, W, 3) pattern: about 0 for pixel noise, near 1 for smooth shapes."""
    centered = np.asarray(pattern, dtype="float64") - np.mean(pattern, axis=(0, 1))
    lagged = (centered[1:] * centered[:-1]).mean() + (centered[:, 1:] * centered[:, :-1]).mean()
    return float(lagged / 2 / (centered.var() + 1e-12))


def _post_relu_extractor(model_name, layer_name):
    import keras  # noqa: PLC0415

    from cvlab_ch9.ui.resources import load_model  # noqa: PLC0415

    model = load_model(model_name)
    return keras.Model(model.inputs, model.get_layer(layer_name).output)


def ascent_variants(model_name, layer_name, count, steps):
    """{setting: (start float (K, H, W, 3), patterns)} for the settings before and now, by the fast path."""
    from cvlab_ch9.fastpaths import FilterAscent  # noqa: PLC0415
    from cvlab_ch9.ui import classifiers, tabs_filters  # noqa: PLC0415

    info = classifiers.model_info(model_name)
    size = info["input_size"]
    scale, rate = classifiers.ascent_settings(info)
    indices = list(range(count))
    before = np.stack([tabs_filters.ascent_start(size, i, 1.0) for i in indices])
    now = np.stack([tabs_filters.ascent_start(size, i, scale) for i in indices])
    old = FilterAscent(_post_relu_extractor(model_name, layer_name))
    new = FilterAscent(classifiers.feature_extractor(model_name, layer_name))
    return {
        "before: rate 10, start 0.4..0.6, after the ReLU": (before, old.patterns(indices, before, steps, 10.0)),
        f"now: rate {rate:g}, start x{scale:g}, before the ReLU": (now, new.patterns(indices, now, steps, rate)),
    }


def _deprocessed(image, crop):
    """The pattern as the tab shows it: the reference deprocess_image, as float."""
    from cvlab_ch9.impl import reference_lab  # noqa: PLC0415 - bench runs in the instructor's checkout

    return reference_lab("interpretation").deprocess_image(image, crop=crop).astype("float64")


def patterns(quick):
    """Per filter layer: filters moved from the gray noise and structure of their patterns, before and now."""
    from cvlab_ch9.ui import classifiers  # noqa: PLC0415

    count, steps = (4, 30) if quick else (8, 30)
    rows = []
    for model in MODELS:
        choices = classifiers.layer_choices(model)
        layers = choices["filter_layers"]
        if quick:
            layers = [n for n in layers if n == choices["filter_default"]]
        crop = min(25, min(classifiers.model_info(model)["input_size"]) // 8)
        for layer in layers:
            shape = "x".join(str(s) for s in classifiers.load_model(model).get_layer(layer).output.shape[1:3])
            for setting, (starts, results) in ascent_variants(model, layer, count, steps).items():
                changed = [np.abs(_deprocessed(p, crop) - _deprocessed(s, crop)).mean() for p, s in zip(results, starts)]
                moved = sum(c > 10 for c in changed)
                rows.append([
                    model, f"{layer} ({shape})" + (" default" if layer == choices["filter_default"] else ""), setting,
                    f"{moved}/{count}", f"{np.mean([structure(p) for p in results]):.2f}",
                ])
    title = (f"Filter patterns after {steps} steps: filters moved from the gray noise (the shown pattern changed by more "
             "than 10 gray levels on average) and structure (lag-1 autocorrelation: 0 pixel noise, 1 smooth)")
    return table(title, ["model", "layer", "setting", "moved", "structure"], rows)


def contact_sheet(path, count=8, steps=30):
    """Draw, for both demo models, the filter layer the tab opened on before (halfway down) and the one it opens on now,
    each with the settings before and now, into a PNG at ``path``."""
    from PIL import Image  # noqa: PLC0415

    from cvlab_ch9.ui import classifiers  # noqa: PLC0415
    from cvlab_ch9.ui.pictures import stacked, strip  # noqa: PLC0415

    rows = []
    for model in MODELS:
        crop = min(25, min(classifiers.model_info(model)["input_size"]) // 8)
        choices = classifiers.layer_choices(model)
        halfway = choices["filter_layers"][len(choices["filter_layers"]) // 2]
        for layer, when in ((halfway, "the default before"), (choices["filter_default"], "the default now")):
            for setting, (_, results) in ascent_variants(model, layer, count, steps).items():
                pictures = [_deprocessed(p, crop).astype("uint8") for p in results]
                label = f"{model} {layer} ({when}), {setting}"
                rows.append(strip(pictures, [label, *[""] * (count - 1)], height=64))
    Image.fromarray(stacked(rows, top=0)).save(path, optimize=True)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.clicks", description="Draw the filter-defaults evidence.")
    parser.add_argument("--sheet", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    print(contact_sheet(args.sheet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
