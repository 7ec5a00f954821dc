"""Typical mistakes in Lab 3, part 3 (interpretation.py): grad_cam and overlay_heatmap.

Sources: DLwP 2nd ed. listings 9.21-9.26 and the companion notebook (two
models, the classifier re-chained on a new Input; ``heatmap /=
np.max(heatmap)``; ``jet_heatmap * 0.4 + img``); keras-io ``grad_cam``
(``tf.argmax(preds[0])``, ``model.output``); keras-io issues 1903 and 2244
(Sequential models); tensorflow issue 62797 (gradient None); the
Grad-CAM paper (ReLU, global-average-pooled gradients).
"""

import numpy as np

from tools.mistakes.catalogue import Mistake, edited
from tools.mistakes.probes import branching_classifier, rng_image, tiny_classifier

KERAS_IO = "keras-io grad_cam.py (make_gradcam_heatmap)"

GRAD_CAM = '''def grad_cam(model, image, last_conv_layer_name, class_index=None):
    batch = _as_batch(image)
    _model_inputs(model, batch)
    conv_layer = model.get_layer(last_conv_layer_name)
    grad_model = keras.Model(model.inputs, [conv_layer.output, model.outputs[0]])
    with tf.GradientTape() as tape:
        conv_output, preds = grad_model(batch)
        if class_index is None:
            class_index = tf.argmax(preds[0])
        class_score = preds[:, class_index]
    grads = tape.gradient(class_score, conv_output)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = tf.reduce_mean(conv_output[0] * weights, axis=-1).numpy()
    heatmap = np.maximum(heatmap, 0)
    if heatmap.max() > 0:
        heatmap /= heatmap.max()
    return heatmap.astype("float32")
'''

OVERLAY = '''def overlay_heatmap(image, heatmap, alpha=0.4):
    image = np.asarray(image, dtype="float32")
    heatmap = np.uint8(255 * heatmap)
    jet_colors = matplotlib.colormaps["jet"](np.arange(256))[:, :3]
    jet_heatmap = jet_colors[heatmap] * 255
    jet_heatmap = tf.image.resize(jet_heatmap, image.shape[:2], method="bilinear").numpy()
    superimposed = alpha * jet_heatmap + image
    superimposed -= superimposed.min()
    if superimposed.max() > 0:
        superimposed = superimposed / superimposed.max() * 255
    return superimposed.astype("uint8")
'''


def _class_zero_probe(module):
    """grad_cam for class 0 of a tiny classifier whose top class is not 0."""
    model = tiny_classifier(num_classes=3, seed=5)  # top class 2
    batch = rng_image((1, 12, 12, 3), seed=0)
    top = int(np.argmax(np.asarray(model(batch))[0]))
    return top, module.grad_cam(model, batch, "last_conv", class_index=0)


MISTAKES = (
    # -- grad_cam -----------------------------------------------------------------------------
    Mistake(
        "gc_gradient_wrt_input", "grad_cam", "takes the gradient of the class score with respect to the input image",
        edited(GRAD_CAM, ("    batch = _as_batch(image)\n", "    batch = tf.convert_to_tensor(_as_batch(image))\n"),
              ("    with tf.GradientTape() as tape:\n", "    with tf.GradientTape() as tape:\n        tape.watch(batch)\n"),
              ("tape.gradient(class_score, conv_output)", "tape.gradient(class_score, batch)")),
        (
            r"input image|the image|pixels|RGB|3 (weights|channels|values)|length 3",
            r"instead of|not the|rather than|\byou",
            r"conv\w*( layer)?'?s? output|feature map|layer's output",
        ),
        "saliency maps (and the filter-visualization section just before) differentiate w.r.t. the input",
    ),
    Mistake(
        "gc_no_relu", "grad_cam", "normalizes by the max without the ReLU (negative values stay)",
        edited(GRAD_CAM, ("    heatmap = np.maximum(heatmap, 0)\n", "")),
        (r"relu|negative", r"negative|below 0|\byou|missing|no relu"),
        "the ReLU is a single line after the mean",
    ),
    Mistake(
        "gc_weights_wrong_axes", "grad_cam", "averages the gradients over axis=(0, 1) (batch and height) only",
        edited(GRAD_CAM, ("axis=(0, 1, 2)", "axis=(0, 1)")),
        (r"axis|axes", r"\(0, 1, 2\)|height|width"),
        "the gradient's layout (1, h, w, c) is misread",
    ),
    Mistake(
        "gc_nan_when_max_zero", "grad_cam", "divides by the max without checking it (NaN when nothing speaks for the class)",
        edited(GRAD_CAM, ("    if heatmap.max() > 0:\n        heatmap /= heatmap.max()\n", "    heatmap /= heatmap.max()\n")),
        (r"nan", r"contains|got|\byou|returned|divid"),
        "the book's heatmap /= np.max(heatmap)",
    ),
    Mistake(
        "gc_class_index_ignored", "grad_cam", "always explains the top class",
        edited(GRAD_CAM, ("        if class_index is None:\n            class_index = tf.argmax(preds[0])\n",
                         "        class_index = tf.argmax(preds[0])\n")),
        (r"class_index", r"gave|\byou|ignor|same heatmap|top class's"),
        "the book only shows the top class",
    ),
    Mistake(
        "gc_float64", "grad_cam", "returns a float64 heatmap",
        edited(GRAD_CAM, ('    return heatmap.astype("float32")\n', "    return heatmap.astype(float)\n")),
        (r"float32", r"float64"),
        "numpy's default float",
    ),
    Mistake(
        "gc_not_normalized", "grad_cam", "returns the ReLU'd map without dividing by its max",
        edited(GRAD_CAM, ("    if heatmap.max() > 0:\n        heatmap /= heatmap.max()\n", "")),
        (r"max|normali", r"\[0, 1\]|divide", r"got|\byou|above 1|> ?1|not normali"),
        "the normalization is done in the plotting code in many tutorials",
    ),
    Mistake(
        "gc_no_gradient_weights", "grad_cam", "averages the activation's channels without weighting them by the gradients",
        edited(GRAD_CAM, ("tf.reduce_mean(conv_output[0] * weights, axis=-1)", "tf.reduce_mean(conv_output[0], axis=-1)")),
        (r"weight|gradient", r"each channel|per channel|mean gradient", r"\byou|unweighted|not weighted|plain mean|without (the )?weight"),
        "CAM without the G",
    ),
    Mistake(
        "gc_model_output", "grad_cam", "builds the two-output model from model.output (Keras 2)",
        edited(GRAD_CAM, ("model.outputs[0]]", "model.output]")),
        (r"model\.outputs|outputs\[0\]", r"Sequential|\.output\b|Keras 3"),
        KERAS_IO + " writes model.output; Keras 3 Sequential models have none (keras-io issue 1903)",
    ),
    Mistake(
        "gc_rechained_head", "grad_cam", "re-chains the layers after the conv layer on a new Input (the book's two models)",
        '''def grad_cam(model, image, last_conv_layer_name, class_index=None):
    batch = _as_batch(image)
    _model_inputs(model, batch)
    last_conv_layer = model.get_layer(last_conv_layer_name)
    last_conv_layer_model = keras.Model(model.inputs, last_conv_layer.output)
    classifier_input = keras.Input(shape=last_conv_layer.output.shape[1:])
    x = classifier_input
    for layer in model.layers[model.layers.index(last_conv_layer) + 1 :]:
        x = layer(x)
    classifier_model = keras.Model(classifier_input, x)
    with tf.GradientTape() as tape:
        conv_output = last_conv_layer_model(batch)
        tape.watch(conv_output)
        preds = classifier_model(conv_output)
        if class_index is None:
            class_index = tf.argmax(preds[0])
        class_score = preds[:, class_index]
    grads = tape.gradient(class_score, conv_output)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = tf.reduce_mean(conv_output[0] * weights, axis=-1).numpy()
    heatmap = np.maximum(heatmap, 0)
    if heatmap.max() > 0:
        heatmap /= heatmap.max()
    return heatmap.astype("float32")
''',
        (r"branch|not a (plain )?chain|re-?chain|new Input", r"keras\.Model\(model\.inputs|two outputs|one model|both"),
        "DLwP listings 9.22-9.23 (classifier_layer_names re-applied on a new Input)",
        edge="layers after the conv layer that are not a plain chain",
        probe=lambda m: m.grad_cam(branching_classifier(), rng_image((1, 12, 12, 3)), "last_conv"),
    ),
    Mistake(
        "gc_min_max_scaling", "grad_cam", "min-max scales the map instead of ReLU and /max",
        edited(GRAD_CAM, ("    heatmap = np.maximum(heatmap, 0)\n    if heatmap.max() > 0:\n        heatmap /= heatmap.max()\n",
                         "    heatmap = (heatmap - heatmap.min()) / (heatmap.max() - heatmap.min())\n")),
        (r"min.?max|minimum|min\(\)", r"relu|negative"),
        "min-max scaling is the usual 'to [0, 1]'",
    ),
    Mistake(
        "gc_argmax_over_batch", "grad_cam", "takes tf.argmax(preds) (over the batch axis) as the top class",
        edited(GRAD_CAM, ("class_index = tf.argmax(preds[0])", "class_index = tf.argmax(preds)")),
        (r"argmax", r"preds\[0\]|axis|top (predicted )?class"),
        "the [0] of " + KERAS_IO + "'s tf.argmax(preds[0]) is dropped",
    ),
    Mistake(
        "gc_abs_gradients", "grad_cam", "weights each channel by the mean absolute gradient",
        edited(GRAD_CAM, ("tf.reduce_mean(grads, axis=(0, 1, 2))", "tf.reduce_mean(tf.abs(grads), axis=(0, 1, 2))")),
        (r"abs\(|absolute|magnitude|tf\.abs",),
        "'importance' read as a magnitude, as in saliency maps",
    ),
    Mistake(
        "gc_no_batch_axis", "grad_cam", "passes an (H, W, 3) image to the model without adding the batch axis",
        edited(GRAD_CAM, ("    batch = _as_batch(image)\n", '    batch = np.asarray(image, dtype="float32")\n')),
        (r"\(H, W, 3\)|batch axis", r"add|accept|expand|same"),
        "the book's get_img_array adds the axis before the call",
    ),
    Mistake(
        "gc_class_index_zero_falsy", "grad_cam", "tests `if not class_index:`, so class_index=0 explains the top class",
        edited(GRAD_CAM, ("if class_index is None:", "if not class_index:")),
        (r"class_index ?= ?0|class 0|index 0|\b0\b", r"is None"),
        "truthiness tests on optional arguments (`if not class_index`, `class_index or ...`)",
        edge="class_index=0 when the top class is another one",
        probe=_class_zero_probe,
    ),
    Mistake(
        "gc_gradient_of_all_scores", "grad_cam", "differentiates all the predictions instead of the chosen class's score",
        edited(GRAD_CAM, ("tape.gradient(class_score, conv_output)", "tape.gradient(preds, conv_output)")),
        (r"class|score", r"sum|all (the )?(outputs|classes|predictions|scores)|whole|preds\[:, class_index\]"),
        "tape.gradient of a vector sums it; for a softmax the sum is constant",
    ),
    Mistake(
        "gc_layer_input", "grad_cam", "uses the conv layer's input instead of its output",
        edited(GRAD_CAM, ("[conv_layer.output, model.outputs[0]]", "[conv_layer.input, model.outputs[0]]")),
        (r"output", r"input"),
        "a slip between .input and .output",
    ),
    # -- overlay_heatmap ------------------------------------------------------------------------
    Mistake(
        "ov_viridis", "overlay_heatmap", "colors the heatmap with viridis (matplotlib's default)",
        edited(OVERLAY, ('colormaps["jet"]', 'colormaps["viridis"]')),
        (r"viridis", r"jet"),
        "viridis is matplotlib's default colormap and the one the book's matshow shows",
    ),
    Mistake(
        "ov_colors_not_scaled", "overlay_heatmap", "adds the colormap's 0..1 RGB values to the 0..255 image",
        edited(OVERLAY, ("jet_colors[heatmap] * 255", "jet_colors[heatmap]")),
        (r"255", r"0\.\.1|0 ?(to|-) ?1|\[0, 1\]", r"multipl|times 255|RGB values in 0"),
        "the book's array_to_img/img_to_array round trip does the scaling implicitly",
    ),
    Mistake(
        "ov_size_swapped", "overlay_heatmap", "resizes the colored heatmap to (W, H)",
        edited(OVERLAY, ("image.shape[:2]", "(image.shape[1], image.shape[0])")),
        (r"swap|transpos|width.{0,20}height|height.{0,20}width",),
        "PIL's resize takes (width, height), as the book's jet_heatmap.resize((img.shape[1], img.shape[0]))",
    ),
    Mistake(
        "ov_alpha_fixed", "overlay_heatmap", "blends with 0.4 whatever alpha is",
        edited(OVERLAY, ("alpha * jet_heatmap + image", "0.4 * jet_heatmap + image")),
        (r"alpha", r"ignor|\byou|gave|instead"),
        "the book's superimposed_img = jet_heatmap * 0.4 + img",
    ),
    Mistake(
        "ov_clip_not_rescaled", "overlay_heatmap", "clips the sum to 0..255 instead of min-max rescaling it",
        edited(OVERLAY, ("    superimposed -= superimposed.min()\n    if superimposed.max() > 0:\n"
                         "        superimposed = superimposed / superimposed.max() * 255\n",
                        "    superimposed = np.clip(superimposed, 0, 255)\n")),
        (r"rescal|min.?max", r"clip"),
        "array_to_img's rescaling is implicit in the book",
    ),
    Mistake(
        "ov_nearest_resize", "overlay_heatmap", "resizes with nearest neighbours",
        edited(OVERLAY, ('method="bilinear"', 'method="nearest"')),
        (r"bilinear", r"nearest"),
        "nearest keeps the heatmap's cells visible",
    ),
    Mistake(
        "ov_alpha_on_image", "overlay_heatmap", "weights the image by alpha instead of the colored heatmap",
        edited(OVERLAY, ("alpha * jet_heatmap + image", "jet_heatmap + alpha * image")),
        (r"alpha", r"(weight|multipl|scal)\w* the image|image by alpha|on the image|instead of the (colou?red )?heatmap"),
        "'alpha' read as the image's opacity",
    ),
    Mistake(
        "ov_rgba", "overlay_heatmap", "keeps the colormap's alpha channel (RGBA)",
        edited(OVERLAY, ('(np.arange(256))[:, :3]', "(np.arange(256))"),
              ("superimposed = alpha * jet_heatmap + image",
               "superimposed = alpha * jet_heatmap + np.dstack([image, np.full(image.shape[:2], 255.0)])")),
        (r"RGBA|4 channels|alpha channel|\[:, :3\]|\[\.\.\., :3\]|three channels|3 channels",),
        "matplotlib colormaps return RGBA",
    ),
    Mistake(
        "ov_float_result", "overlay_heatmap", "returns the rescaled floats (no uint8)",
        edited(OVERLAY, ('    return superimposed.astype("uint8")\n', "    return superimposed\n")),
        (r"uint8", r"float64|float32|got float"),
        "the book returns a PIL image; students return the array before converting",
    ),
    Mistake(
        "ov_float_index", "overlay_heatmap", "indexes the colormap with 255 * heatmap as floats (no np.uint8)",
        edited(OVERLAY, ("    heatmap = np.uint8(255 * heatmap)\n", "    heatmap = 255 * heatmap\n")),
        (r"uint8", r"float|integer", r"index"),
        "the np.uint8 looks like a cosmetic cast",
    ),
)
