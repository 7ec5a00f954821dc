"""The models of the Architecture tab: the choices, their settings, and building them with a lab's functions.

:func:`build_model` builds a choice with a module's functions (the
student's or the reference's). :func:`student_model` and
:func:`reference_model` build them seeded alike, so equal code gives equal
weights, with the demo models' trained weights at the demo settings
(:func:`load_demo_weights`), and keep the last few (lab file, settings) built
so that a table, a graph and a click on a layer share one build.
"""

import collections
import functools
import hashlib

from cvlab_ch9.impl import NamespaceSource, resolve_source
from cvlab_ch9.ui.common import run_student, user_error
from cvlab_ch9.ui.fields import one_of, whole_number
from cvlab_ch9.ui.reference import reference_side

LAB = "architecture"
RESIDUAL = "Residual network (residual_block)"
MINI_XCEPTION = "Mini-Xception (build_mini_xception)"
XCEPTION_BLOCK = "One Xception block (xception_block)"
CONV_BN_RELU = "Conv → BN → ReLU (conv_bn_relu)"
SEGMENTATION = "Segmentation model (build_segmentation_model)"
IMAGENET = "ImageNet Xception (keras.applications, downloaded)"
MODEL_CHOICES = (MINI_XCEPTION, RESIDUAL, XCEPTION_BLOCK, CONV_BN_RELU, SEGMENTATION, IMAGENET)
#: The choices built from exercises (the reference gallery records their tables and graphs).
EXERCISE_CHOICES = MODEL_CHOICES[:-1]
#: The exercise each choice runs (named in messages).
EXERCISE = {
    RESIDUAL: "residual_block",
    MINI_XCEPTION: "build_mini_xception",
    XCEPTION_BLOCK: "xception_block",
    CONV_BN_RELU: "conv_bn_relu",
    SEGMENTATION: "build_segmentation_model",
}
#: The lab of each choice that is not in architecture.py.
LAB_OF = {SEGMENTATION: "segmentation"}
MIN_SIZE, MAX_SIZE = 16, 299
MAX_CLASSES = 1000


def parse_filters(text):
    """``"32, 64, 128"`` -> (32, 64, 128); gr.Error for anything else."""
    parts = [p for p in str(text or "").replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        filters = tuple(int(p) for p in parts)
    except ValueError:
        filters = ()
    if not filters or any(f < 1 or f > 1024 for f in filters) or len(filters) > 8:
        raise user_error(
            f"Block filters {text!r} must be 1 to 8 whole numbers between 1 and 1024, separated by commas, "
            "e.g. 32, 64, 128."
        )
    return filters


def build_model(module, choice, input_size, filters, num_classes, augment):
    """The model for ``choice`` built with ``module``'s functions (student or reference).

    Returns:
        keras.Model taking float32 (batch, input_size, input_size, 3).
    """
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    shape = (input_size, input_size, 3)
    if choice == SEGMENTATION:
        return module.build_segmentation_model(img_size=(input_size, input_size), num_classes=num_classes, filters=filters)
    if choice == MINI_XCEPTION:
        return module.build_mini_xception(
            input_shape=shape, num_classes=num_classes, block_filters=filters, augment=augment
        )
    inputs = keras.Input(shape=shape)
    if choice == RESIDUAL:
        # the chapter's small residual network: pooling in every block but the last
        x = layers.Rescaling(1.0 / 255)(inputs)
        for i, f in enumerate(filters):
            x = module.residual_block(x, f, pooling=i < len(filters) - 1)
        x = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Dense(1, activation="sigmoid")(x) if num_classes == 1 else layers.Dense(
            num_classes, activation="softmax"
        )(x)
    elif choice == XCEPTION_BLOCK:
        outputs = module.xception_block(inputs, filters[0])
    elif choice == CONV_BN_RELU:
        outputs = module.conv_bn_relu(inputs, filters[0])
    else:
        raise user_error(f"Unknown model {choice!r}; choose one of: {', '.join(MODEL_CHOICES)}.")
    return keras.Model(inputs, outputs, name=choice.split(" (")[0].lower().replace(" ", "_"))


#: Sensible (input size, block filters, augment) for each choice: the chapter's, the demo segmentation model's.
DEFAULTS = {
    MINI_XCEPTION: (180, "32, 64, 128, 256, 512", True),
    RESIDUAL: (32, "32, 64, 128", False),
    XCEPTION_BLOCK: (32, "64", False),
    CONV_BN_RELU: (32, "32", False),
    SEGMENTATION: (64, "16, 32, 64", False),
    IMAGENET: (299, "32", False),
}
#: Classes of each choice's output (1: one sigmoid unit).
CLASSES = {SEGMENTATION: 3, IMAGENET: 1000}


def default_settings(choice):
    """The chapter's settings for the chosen model (input size, filters, augment)."""
    return DEFAULTS.get(choice, DEFAULTS[MINI_XCEPTION])


def settings_for_choice(choice):
    """Event: (input size, filters, classes, augment) the fields take when the model changes."""
    size, filters, augment = default_settings(choice)
    return size, filters, CLASSES.get(choice, 1), augment


def checked_settings(choice, input_size, block_filters, num_classes, augment):
    """(choice, size, filters tuple, classes, augment) from the fields; gr.Error names a bad one."""
    choice = one_of(choice, "model", MODEL_CHOICES)
    if choice == IMAGENET:
        return (IMAGENET, 299, (), 1000, False)
    input_size = whole_number(input_size, "Input size (pixels)", MIN_SIZE, MAX_SIZE)
    num_classes = whole_number(num_classes, "Classes", 1, MAX_CLASSES)
    return (choice, input_size, parse_filters(block_filters), num_classes, bool(augment))



# -- building, with a small cache ------------------------------------------------------------


_CACHE_SIZE = 4
_built = collections.OrderedDict()


def _source_digest(source, lab):
    """Digest of the student's lab file (None for a notebook: its functions are not a file)."""
    if isinstance(source, NamespaceSource):
        return None
    try:
        return hashlib.sha256((resolve_source(source) / f"{lab}.py").read_bytes()).hexdigest()
    except OSError:
        return None


def _remember(key, model):
    if key is None:
        return
    _built[key] = model
    _built.move_to_end(key)
    while len(_built) > _CACHE_SIZE:
        _built.popitem(last=False)


def _seeded_build(module, args):
    import keras  # noqa: PLC0415 - TensorFlow is slow to import

    keras.utils.set_random_seed(0)  # both sides start from the same weights
    model = build_model(module, *args)
    load_demo_weights(model, args)
    return model


def _demo_for(args):
    """The trained demo model whose settings ``args`` are, or None."""
    from cvlab_ch9 import models  # noqa: PLC0415 - the model store
    from cvlab_ch9.ui.resources import segmentation_config, segmentation_model  # noqa: PLC0415

    choice, size, filters, classes, augment = args
    if choice == SEGMENTATION:
        config = segmentation_config()
        if (size, size) == config["img_size"] and filters == config["filters"] and classes == config["num_classes"]:
            return segmentation_model()
    if choice == MINI_XCEPTION and "mini_xception" in models.available_models():
        info = models.demo_model_info("mini_xception")
        config = info["config"]
        demo = (tuple(config["img_size"])[0], tuple(config["filters"]), len(info["class_names"]), bool(config.get("augment")))
        if (size, filters, classes, augment) == demo:
            return _mini_xception_with_augmentation()
    return None


@functools.cache
def _mini_xception_with_augmentation():
    """The demo mini-Xception with its augmentation layers, so its layers are numbered as a student's model's."""
    from cvlab_ch9 import models  # noqa: PLC0415

    return models.load_demo_model("mini_xception", augmentation=True)


def load_demo_weights(model, args):
    """Copy the demo model's trained weights into ``model`` when ``args`` are its settings and the shapes fit."""
    demo = _demo_for(args)
    if demo is None:
        return False
    theirs = demo.get_weights()
    if [tuple(w.shape) for w in model.get_weights()] != [tuple(w.shape) for w in theirs]:
        return False
    model.set_weights(theirs)
    model.trained = True
    return True


def student_model(source, args):
    """Outcome of building the student's model for ``args`` (choice, size, filters, classes, augment)."""
    lab = LAB_OF.get(args[0], LAB)
    digest = _source_digest(source, lab)
    key = None if digest is None else ("student", digest, args)
    if key in _built:
        _built.move_to_end(key)
        return run_student(lab, source, EXERCISE[args[0]], lambda m: _built[key])
    outcome = run_student(lab, source, EXERCISE[args[0]], lambda m: _seeded_build(m, args))
    if outcome.ok and hasattr(outcome.value, "layers"):
        _remember(key, outcome.value)
    return outcome


def reference_model(args):
    """The reference's model for ``args`` (live: built from solutions/; a demo model or ImageNet as they are), or None."""
    if args[0] == IMAGENET:
        from cvlab_ch9.ui.resources import IMAGENET_XCEPTION, load_model  # noqa: PLC0415

        return load_model(IMAGENET_XCEPTION)
    key = ("reference", args)
    if key not in _built:
        if reference_side().kind != "live":
            demo = _demo_for(args)
            return demo
        _remember(key, _seeded_build(reference_side().lab(LAB_OF.get(args[0], LAB)), args))
    return _built[key]


