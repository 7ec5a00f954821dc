"""The segmentation pipeline stage by stage: feature maps down the encoder and back up the decoder.

:func:`run_pipeline` builds the student's ``build_segmentation_model`` with
the demo configuration and the demo weights (or the weights of the model the
student just trained, :mod:`cvlab_ch9.ui.live_training`), runs the image
through it and shows

- the feature maps at the end of each resolution (64 → 32 → 16 → 8 and back
  for the demo model; 200 → 100 → 50 → 25 for the book's), with their shapes;
- beside them the same for the demo model (the reference: a shipped model,
  no answer key);
- on request the same model with every ``strides=2`` convolution replaced by
  a stride-1 convolution followed by ``MaxPooling2D(2)`` (same weights: the
  chapter's alternative way to downsample);
- the three class-probability maps (pet, background, contour) and a mask in
  which the contour class is drawn solid.
"""

import numpy as np

from cvlab_ch9.ui.common import StudentResultError, resolve_labs_dir, run_student
from cvlab_ch9.ui.images import channel_grid, jet_image, load_input_image, model_input, nearest_resize

LAB = "segmentation"
CLASS_NAMES = ("pet", "background", "contour")
#: Colours of the mask: pet tint, contour (solid).
PET_RGB = np.array([59, 130, 246], dtype="float32")
CONTOUR_RGB = np.array([250, 204, 21], dtype="float32")
CHANNELS = 8


def _spatial(layer):
    shape = layer.output.shape
    return tuple(shape[1:3]) if len(shape) == 4 else None


def _runs(indices, sizes):
    """Split ``indices`` into runs of equal spatial size."""
    runs = []
    for i in indices:
        if runs and sizes[runs[-1][-1]] == sizes[i]:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def stage_layers(model):
    """``[(layer index, label)]``: where each stage of the encoder and decoder ends, the output layer left out.

    On the way down a stage ends at the last layer of each resolution (not
    counting the decoder's first transposed convolution, which works at the
    bottleneck's resolution); on the way up at the first layer of each new
    resolution (the ``strides=2`` transposed convolution). Labels:
    ``"input"``, ``"encoder 1"``, ..., ``"decoder 1"``, ...
    """
    layers = model.layers[:-1]
    sizes = [_spatial(layer) for layer in layers]
    mapped = [i for i, size in enumerate(sizes) if size is not None]
    rising = next((i for p, i in zip(mapped, mapped[1:]) if sizes[i][0] > sizes[p][0]), len(layers))
    labelled = []
    down = [i for i in mapped if i < rising and type(layers[i]).__name__ != "Conv2DTranspose"]
    for k, run in enumerate(_runs(down, sizes)):
        last = run[-1]
        plain = type(layers[last]).__name__ in ("InputLayer", "Rescaling")
        labelled.append((last, "input" if plain else f"encoder {k}" if k else "full resolution"))
    for k, run in enumerate(_runs([i for i in mapped if i >= rising], sizes), start=1):
        labelled.append((run[0], f"decoder {k}"))
    return labelled


def maxpool_variant(model):
    """``model`` with each ``strides=2`` Conv2D replaced by the same Conv2D at stride 1 and ``MaxPooling2D(2)``, same weights.

    Raises:
        StudentResultError: the model is not a chain of layers.
    """
    import keras  # noqa: PLC0415 - TensorFlow is slow to import

    inputs = keras.Input(model.inputs[0].shape[1:])
    x = inputs
    for layer in model.layers[1:]:
        if len(layer._inbound_nodes) != 1 or len(layer._inbound_nodes[0].input_tensors) != 1:
            raise StudentResultError("the max-pooling variant needs a model that is one chain of layers.")
        config = layer.get_config()
        strided = type(layer).__name__ == "Conv2D" and tuple(config.get("strides", (1, 1))) == (2, 2)
        if strided:
            config.update(strides=(1, 1), name=config["name"] + "_stride1")
        copy = type(layer).from_config(config)
        x = copy(x)
        if layer.get_weights():
            copy.set_weights(layer.get_weights())
        if strided:
            x = keras.layers.MaxPooling2D(2, padding="same")(x)
    return keras.Model(inputs, x)


def stage_items(model, batch):
    """Gallery items ``(uint8 picture, caption)`` of each stage's feature maps for ``batch`` (1, h, w, 3)."""
    import keras  # noqa: PLC0415

    stages = stage_layers(model)
    probe = keras.Model(model.inputs, [model.layers[i].output for i, _ in stages])
    values = probe(batch, training=False)
    values = values if isinstance(values, (list, tuple)) else [values]
    items = []
    for (i, label), value in zip(stages, values):
        value = np.asarray(value)[0]
        shape = "×".join(str(s) for s in value.shape)
        items.append((channel_grid(value, CHANNELS), f"{label}: {shape} ({model.layers[i].name})"))
    return items


def contour_mask(picture, labels):
    """uint8 (H, W, 3): background dimmed, pet tinted blue, contour solid yellow; ``labels`` (h, w) class indices."""
    full = nearest_resize(labels, picture.shape[:2])
    out = picture.astype("float32") * 0.45
    pet = full == 0
    out[pet] = 0.5 * picture[pet].astype("float32") + 0.5 * PET_RGB
    out[full == 2] = CONTOUR_RGB
    return out.clip(0, 255).astype("uint8")


def class_items(picture, probabilities):
    """Gallery items: one heat map per class of ``probabilities`` (h, w, 3), then the mask."""
    size = picture.shape[:2]
    items = [(jet_image(probabilities[..., k], size), f"P({name})") for k, name in enumerate(CLASS_NAMES[: probabilities.shape[-1]])]
    items.append((contour_mask(picture, probabilities.argmax(axis=-1)), "mask: pet blue, contour yellow"))
    return items


def _student_pipeline(module, config, weights, batch, picture, pooling):
    model = module.build_segmentation_model(img_size=config["img_size"], num_classes=config["num_classes"], filters=config["filters"])
    if not hasattr(model, "layers"):
        raise StudentResultError(f"build_segmentation_model() returned {type(model).__name__}; expected a keras.Model.")
    mine = [tuple(w.shape) for w in model.get_weights()]
    if mine != [tuple(w.shape) for w in weights]:
        raise StudentResultError("The demo weights do not fit your build_segmentation_model(); compare your layers with the chapter's "
                                 "in the Architecture tab (choose the segmentation model).")
    model.set_weights(weights)
    result = {"stages": stage_items(model, batch),
              "classes": class_items(picture, np.asarray(model(batch, training=False))[0])}
    if pooling:
        pooled = maxpool_variant(model)
        result["pooled"] = stage_items(pooled, batch)
        result["pooled"].append((contour_mask(picture, np.asarray(pooled(batch, training=False))[0].argmax(-1)),
                                 "mask with MaxPooling2D"))
    return result


def run_pipeline(labs_dir, image, pooling=False, trained=None):
    """Event: the student's segmentation model stage by stage, beside the demo model's.

    Args:
        pooling: also run the max-pooling variant of the student's encoder.
        trained: ``{"weights": [...], "config": {...}}`` of a model trained in
            the UI (:mod:`cvlab_ch9.ui.live_training`), or None for the demo weights.

    Returns:
        (your stages, status markdown, reference stages, max-pooling stages,
        your class maps and mask, note markdown); gallery items are (uint8 picture, caption).
    """
    from cvlab_ch9.ui.resources import segmentation_config, segmentation_model  # noqa: PLC0415 - loads the demo model

    source = resolve_labs_dir(labs_dir)
    picture, note = load_input_image(image, max_side=512)
    demo = segmentation_model()
    config = dict(trained["config"]) if trained else segmentation_config()
    weights = trained["weights"] if trained else demo.get_weights()
    batch = model_input(picture, config["img_size"])
    reference = stage_items(demo, model_input(picture, segmentation_config()["img_size"]))
    outcome = run_student(LAB, source, "build_segmentation_model",
                          lambda m: _student_pipeline(m, config, weights, batch, picture, pooling))
    whose = "the weights you trained" if trained else "the demo weights"
    if not outcome.ok:
        return [], outcome.markdown(), reference, [], [], note
    status = f"Your build_segmentation_model() with {whose}: each picture is the first {CHANNELS} channels at the end of a stage."
    return outcome.value["stages"], status, reference, outcome.value.get("pooled", []), outcome.value["classes"], note


def pipeline_event(labs_dir, image, pooling, use_trained, trained):
    """Event: :func:`run_pipeline` with the weights trained in this page when ``use_trained`` is ticked and a run kept some."""
    return run_pipeline(labs_dir, image, pooling, trained if use_trained else None)
