"""Implementations of Lab 3 written differently from the reference, and broken ones.

``BOOK_STYLE_SOURCE`` is the text of ``bench/book.py``, the book's code
(the one copy of the baselines the benchmarks time): a complete, correct
``interpretation.py`` written the way the book (and many students) would.
It must pass every visible check; its Grad-CAM cannot handle a branching
head, which the hidden check catches.

``EAGER_GRAD_CAM`` replaces the reference's ``grad_cam`` by the same
two-output model written with ``keras.ops``: it must pass everything.

``MUTATIONS`` are deliberate mistakes: text replacements applied to
``solutions/interpretation.py``, each with the checks that must fail and
words their hint must contain. Checks are named ``"<exercise>.<check>"``,
as :func:`tests.grader.helpers.check_results` keys them.
"""

import dataclasses

from cvlab_ch9.paths import REPO_ROOT

BOOK_STYLE_SOURCE = (REPO_ROOT / "bench" / "book.py").read_text()

EAGER_GRAD_CAM = '''
def grad_cam(model, image, last_conv_layer_name, class_index=None):
    """Single two-output model, eager, keras.ops."""
    batch = ops.convert_to_tensor(np.reshape(np.asarray(image, "float32"), (1,) + np.shape(image)[-3:]))
    grad_model = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output] + list(model.outputs))
    with tf.GradientTape() as tape:
        conv_output, preds = grad_model(batch)[:2]
        index = int(ops.argmax(preds[0])) if class_index is None else class_index
        score = preds[:, index]
    grads = tape.gradient(score, conv_output)
    weights = ops.mean(grads, axis=(0, 1, 2))
    heatmap = ops.relu(ops.mean(conv_output[0] * weights, axis=-1))
    peak = ops.max(heatmap)
    heatmap = ops.where(peak > 0, heatmap / ops.maximum(peak, 1e-12), ops.zeros_like(heatmap))
    return np.asarray(heatmap, dtype="float32")


'''


@dataclasses.dataclass(frozen=True)
class Mutation:
    """A deliberate mistake: ``replacements`` applied to the reference text."""

    name: str
    replacements: tuple  # ((old, new), ...); each old occurs exactly once
    failing_checks: tuple  # "<exercise>.<check>" names that must fail
    hint_words: tuple  # words (case-insensitive) the first failing check's message must contain


MUTATIONS = (
    Mutation(
        "activations_keep_batch_axis",
        (('np.asarray(activations[layer.name], dtype="float32")[0] for', 'np.asarray(activations[layer.name], dtype="float32") for'),),
        ("extract_activations.default_layers",),
        ("batch axis",),
    ),
    Mutation(
        "activations_use_model_input",
        (("keras.Model(inputs=inputs, outputs={layer.name", "keras.Model(inputs=model.input, outputs={layer.name"),),
        ("extract_activations.sequential_and_names",),
        ("model.inputs",),
    ),
    Mutation(
        "activations_skip_separable",
        (('ACTIVATION_LAYER_TYPES = ("Conv2D", "SeparableConv2D", "MaxPooling2D")',
          'ACTIVATION_LAYER_TYPES = ("Conv2D", "MaxPooling2D")'),),
        ("extract_activations.default_layers",),
        ("missing", "SeparableConv2D"),
    ),
    Mutation(
        "activations_every_layer",
        (("        layer_names = _layer_names_of(model, ACTIVATION_LAYER_TYPES)\n",
          "        layer_names = [layer.name for layer in model.layers]\n"),),
        ("extract_activations.default_layers",),
        ("also returned",),
    ),
    Mutation(
        "grid_floor_rows",
        (("    rows = math.ceil(channels / images_per_row)\n", "    rows = channels // images_per_row\n"),
         ("    for k in range(channels):\n", "    for k in range(rows * images_per_row):\n")),
        ("activation_grid.grid_shape", "activation_grid.grid_few_channels"),
        ("ceil",),
    ),
    Mutation(
        "grid_floor_rows_crashes",
        (("    rows = math.ceil(channels / images_per_row)\n", "    rows = channels // images_per_row\n"),),
        ("activation_grid.grid_shape",),
        ("ceil",),
    ),
    Mutation(
        "grid_divides_by_zero",
        (("        if std > 0:\n            # standardize", "        if True:\n            # standardize"),),
        ("activation_grid.grid_values",),
        ("zero", "constant"),
    ),
    Mutation(
        "grid_constant_channel_128",
        (("            channel = np.zeros_like(channel)\n", "            channel = np.full_like(channel, 128)\n"),),
        ("activation_grid.grid_values",),
        ("constant", "0"),
    ),
    Mutation(
        "filter_loss_no_crop",
        (("activation[:, 2:-2, 2:-2, filter_index]\n    return", "activation[:, :, :, filter_index]\n    return"),),
        ("filter_loss.filter_loss",),
        ("2-pixel border",),
    ),
    Mutation(
        "step_not_normalized",
        (("    grads = tf.math.l2_normalize(grads, axis=None)\n", ""),),
        ("gradient_ascent_step.gradient_step",),
        ("normalize",),
    ),
    Mutation(
        "step_per_pixel_normalized",
        (("tf.math.l2_normalize(grads, axis=None)\n    return", "tf.math.l2_normalize(grads, axis=-1)\n    return"),),
        ("gradient_ascent_step.gradient_step",),
        ("each pixel",),
    ),
    Mutation(
        "step_descends",
        (("    return image + learning_rate * grads\n", "    return image - learning_rate * grads\n"),),
        ("gradient_ascent_step.gradient_step",),
        ("ascent",),
    ),
    Mutation(
        "pattern_ignores_iterations",
        (("    for _ in range(iterations):\n        image = gradient_ascent_step(",
          "    for _ in range(30):\n        image = gradient_ascent_step("),),
        ("generate_filter_pattern.pattern_from_image",),
        ("iterations",),
    ),
    Mutation(
        "pattern_keeps_batch_axis",
        (('    return np.asarray(image, dtype="float32")[0]\n', '    return np.asarray(image, dtype="float32")\n'),),
        ("generate_filter_pattern.pattern_from_image",),
        ("batch axis",),
    ),
    Mutation(
        "pattern_ignores_seed",
        (("np.random.default_rng(seed).uniform(0.4, 0.6", "np.random.default_rng().uniform(0.4, 0.6"),),
        ("generate_filter_pattern.seeded_start",),
        ("same seed",),
    ),
    Mutation(
        "deprocess_no_crop",
        (("    return image[crop : height - crop, crop : width - crop]\n", "    return image\n"),),
        ("deprocess_image.deprocess",),
        ("crop",),
    ),
    Mutation(
        "deprocess_divides_by_zero_std",
        (("    if std > 0:\n        image = image / std\n", "    image = image / std\n"),),
        ("deprocess_image.deprocess_constant",),
        ("128",),
    ),
    Mutation(
        "grad_cam_no_relu",
        (("    heatmap = np.maximum(heatmap.numpy(), 0)\n", "    heatmap = heatmap.numpy()\n"),),
        ("grad_cam.grad_cam_top_class",),
        ("relu",),
    ),
    Mutation(
        "grad_cam_wrong_axes",
        (("tf.reduce_mean(grads, axis=(0, 1, 2))", "tf.reduce_mean(grads, axis=(0, 1))"),),
        ("grad_cam.grad_cam_top_class",),
        ("axis=(0, 1, 2)", "wrong axes"),
    ),
    Mutation(
        "grad_cam_nan_when_max_is_zero",
        (("    peak = heatmap.max()\n    if peak > 0:\n        heatmap = heatmap / peak\n    return heatmap.astype",
          "    peak = heatmap.max()\n    heatmap = heatmap / peak\n    return heatmap.astype"),),
        ("grad_cam.grad_cam_all_negative",),
        ("nan", "zeros"),
    ),
    Mutation(
        "grad_cam_ignores_class_index",
        (("        if class_index is None:\n            class_index = tf.argmax(preds[0])\n",
          "        class_index = tf.argmax(preds[0])\n"),),
        ("grad_cam.grad_cam_class_index",),
        ("class_index",),
    ),
    Mutation(
        "overlay_viridis",
        (('matplotlib.colormaps["jet"]', 'matplotlib.colormaps["viridis"]'),),
        ("overlay_heatmap.overlay",),
        ("viridis", "jet"),
    ),
    Mutation(
        "overlay_colors_not_scaled",
        (("    jet_heatmap = jet_colors[heatmap] * 255  # (h, w, 3)\n", "    jet_heatmap = jet_colors[heatmap]  # (h, w, 3)\n"),),
        ("overlay_heatmap.overlay",),
        ("255",),
    ),
    Mutation(
        "grad_cam_float64",
        (('        heatmap = heatmap / peak\n    return heatmap.astype("float32")\n',
          '        heatmap = heatmap / peak\n    return heatmap.astype("float64")\n'),),
        ("grad_cam.grad_cam_top_class",),
        ("float32",),
    ),
    Mutation(
        "activations_key_error",
        (('_get_layer(model, name, "convolution and pooling", ACTIVATION_LAYER_TYPES) for name',
          "{layer.name: layer for layer in model.layers}[name] for name"),),
        ("extract_activations.unknown_layer",),
        ("KeyError", "ValueError"),
    ),
    Mutation(
        "overlay_swapped_size",
        (('tf.image.resize(jet_heatmap, image.shape[:2], method="bilinear")',
          'tf.image.resize(jet_heatmap, image.shape[1::-1], method="bilinear")'),),
        ("overlay_heatmap.overlay",),
        ("(H, W)",),
    ),
    Mutation(
        "overlay_ignores_alpha",
        (("    superimposed = alpha * jet_heatmap + image\n", "    superimposed = 0.4 * jet_heatmap + image\n"),),
        ("overlay_heatmap.overlay_alpha_and_rescale",),
        ("alpha",),
    ),
    Mutation(
        "overlay_no_rescale",
        (("    superimposed = superimposed - superimposed.min()\n", ""),
         ("        superimposed = superimposed / peak * 255\n", "        superimposed = np.clip(superimposed, 0, 255)\n")),
        ("overlay_heatmap.overlay_alpha_and_rescale",),
        ("rescale",),
    ),
)


@dataclasses.dataclass(frozen=True)
class Equivalent:
    """A correct rewrite: ``replacements`` applied to the reference text; ``checks`` must still pass."""

    name: str
    replacements: tuple
    checks: tuple


EQUIVALENTS = (
    Equivalent(
        "grid_with_np_where",  # computes 0 / 0 for the constant channel but discards it
        (("        if std > 0:\n            # standardize, then spread +-2 std over the visible range\n"
          "            channel = np.clip((channel - channel.mean()) / std * 64 + 128, 0, 255)\n"
          "        else:\n            channel = np.zeros_like(channel)\n",
          "        with np.errstate(all='ignore'):\n"
          "            channel = np.where(std > 0, np.clip((channel - channel.mean()) / std * 64 + 128, 0, 255), 0)\n"),),
        ("activation_grid.grid_shape", "activation_grid.grid_values",
         "activation_grid.grid_few_channels"),
    ),
    Equivalent(
        "grad_cam_weights_keep_batch_axis",  # (1, c) weights broadcast like (c,)
        (("tf.reduce_mean(grads, axis=(0, 1, 2))", "tf.reduce_mean(grads, axis=(1, 2))"),),
        ("grad_cam.grad_cam_top_class", "grad_cam.grad_cam_class_index",
         "grad_cam.grad_cam_branching_head"),
    ),
    Equivalent(
        "step_inlines_its_loss_while_filter_loss_is_wrong",
        (("activation[:, 2:-2, 2:-2, filter_index]\n    return", "activation[:, :, :, filter_index]\n    return"),
         ("        loss = filter_loss(feature_extractor, image, filter_index)\n",
          "        loss = tf.reduce_mean(feature_extractor(image)[:, 2:-2, 2:-2, filter_index])\n")),
        ("gradient_ascent_step.gradient_step", "generate_filter_pattern.pattern_from_image"),
    ),
    Equivalent(
        "step_divides_by_tf_norm",
        (("    grads = tf.math.l2_normalize(grads, axis=None)\n", "    grads = grads / tf.norm(grads)\n"),),
        ("gradient_ascent_step.gradient_step", "generate_filter_pattern.pattern_from_image"),
    ),
)


def mutated_source(solution_text, mutation):
    """The reference text with ``mutation`` applied (AssertionError if a pattern is not found once)."""
    text = solution_text
    for old, new in mutation.replacements:
        count = text.count(old)
        assert count == 1, f"{mutation.name}: expected {old!r} once in solutions/interpretation.py, found {count}"
        text = text.replace(old, new)
    return text


def with_eager_grad_cam(solution_text):
    """The reference text with grad_cam replaced by :data:`EAGER_GRAD_CAM`."""
    start = solution_text.index("def grad_cam(")
    end = solution_text.index("def overlay_heatmap(")
    return solution_text[:start] + EAGER_GRAD_CAM.lstrip() + solution_text[end:] + "\nfrom keras import ops  # noqa: E402\n"
