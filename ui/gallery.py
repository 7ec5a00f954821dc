"""The recorder of the reference gallery the student kit's UI shows (``python -m grader.record --book gallery`` runs it).

``python -m cvlab_ch9.ui.gallery --out PATH`` is the child process the one
record command (:mod:`cvlab_ch9.grader.record`) starts: the grader cannot
import the UI, which sits a layer above it.

Runs the UI's own event functions (on fresh skeletons, so only the
reference side computes anything) with a :class:`cvlab_ch9.ui.reference.RecordingReference`
around the live reference, and saves every reference result they asked for:

- Grad-CAM heatmaps and overlays of every demo model on every example image,
  for each class, at the default layer and alpha;
- the activation grids and statistics (blank channels, fine detail kept) of
  every layer the Activations tab offers (BatchNormalization, Activation and
  Add included), at the default channels per row;
- the filter patterns of every offered layer (up to the most filters the tab
  offers), at each snapshot of the default number of ascent steps;
- the architecture tab's reference layer tables and graphs for the chapter's
  settings, its separable convolution counts and batch normalization histograms.

These are outputs on example images and fixed settings only; no code. The
result is the recording ``gallery`` (:mod:`cvlab_ch9.grader.reference`'s
format, beside the grader's expectations in ``grader/recordings/``). The
kit's build (``python -m course kit``) records it; the instructor's checkout
never needs the file (its reference is live).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from cvlab_ch9.generate import generate_labs
from cvlab_ch9.paths import SOLUTIONS_DIR
from cvlab_ch9.ui.config import set_offline_environment


def record_gallery(out, models=None, examples=None, max_filters=None, log=print):
    """Record the reference gallery into ``out`` (a ``.rec``); return the Gallery.

    Args:
        models: demo model names (default: every demo model).
        examples: example image paths (default: every bundled example).
        max_filters: filters per layer (default: the most the Filters tab offers).
    """
    from cvlab_ch9.models import DEMO_MODELS  # noqa: PLC0415 - imports the model store
    from cvlab_ch9.ui import classifiers, tabs_activations, tabs_filters, tabs_gradcam  # noqa: PLC0415
    from cvlab_ch9.ui import tabs_architecture as arch  # noqa: PLC0415 - imports gradio
    from cvlab_ch9.ui.reference import RecordingReference, make_reference, using_reference  # noqa: PLC0415
    from cvlab_ch9.ui.resources import example_images, model_info  # noqa: PLC0415

    models = list(models or DEMO_MODELS)
    examples = [str(p) for p in (examples or example_images())]
    max_filters = max_filters or tabs_filters.MAX_FILTERS
    recorder = RecordingReference(make_reference("live"))
    with tempfile.TemporaryDirectory(prefix="cvlab-gallery-") as tmp, using_reference(recorder):
        skeletons = Path(tmp) / "labs"
        generate_labs(SOLUTIONS_DIR, skeletons)
        for name in models:
            start = time.perf_counter()
            choices = classifiers.layer_choices(name)
            classes = model_info(name)["class_names"]
            for example in examples:
                for first in range(0, len(classes), tabs_gradcam.MAX_CLASSES):
                    tabs_gradcam.run_grad_cam(skeletons, name, example, "", classes[first : first + tabs_gradcam.MAX_CLASSES],
                                              tabs_gradcam.DEFAULT_ALPHA)
                tabs_activations.run_activations(skeletons, name, example, choices["explorable_layers"],
                                                 tabs_activations.DEFAULT_PER_ROW)
            for layer in choices["filter_layers"]:
                for _ in tabs_filters.run_filters(skeletons, name, layer, max_filters, tabs_filters.DEFAULT_ITERATIONS,
                                                  progress=lambda *args, **kwargs: None):
                    pass
            log(f"gallery: {name}: {len(examples)} images, filters of {len(classifiers.layer_choices(name)['filter_layers'])} layers "
                f"({time.perf_counter() - start:.1f} s)")
        arch.record_reference(skeletons, examples)
    recorder.gallery.settings = {"models": models, "max_filters": max_filters}
    recorder.gallery.save(out)
    log(f"gallery: {out} ({len(recorder.gallery.entries)} results, {Path(out).stat().st_size / 1e6:.1f} MB)")
    return recorder.gallery


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cvlab_ch9.ui.gallery", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the .rec to write (the kit's grader/recordings/gallery.rec)")
    parser.add_argument("--models", nargs="*", help="demo models (default: all)")
    parser.add_argument("--max-filters", type=int, help="filters per layer (default: as many as the Filters tab offers)")
    args = parser.parse_args(argv)
    set_offline_environment()
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - after the environment is set

    import_tensorflow()
    try:
        record_gallery(args.out, models=args.models, max_filters=args.max_filters)
    except (ValueError, OSError) as exc:
        print(f"python -m cvlab_ch9.ui.gallery: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
