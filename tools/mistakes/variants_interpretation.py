"""Correct Lab 3 code written differently from ``solutions/interpretation.py`` (the false-positive set, part 3).

Each must get full marks: separate activation layers, ``layers.Add()`` or
``keras.ops``, Sequential pieces, subclassed ``Layer``/``Model`` made of the
same layers, nested composite layers, the book's own ways, numpy vs
TensorFlow, another but equivalent order of the normalization.
"""

from tools.mistakes.catalogue import Variant, edited
from tools.mistakes.entries_gradcam import GRAD_CAM

BOOK = "the book's own code"

VARIANTS = (
    Variant(
        "v_act_book_predict", "extract_activations", "the book's way: isinstance, model.inputs, predict (guarding a single output)",
        '''def extract_activations(model, image, layer_names=None):
    x = np.asarray(image, dtype="float32")
    if x.ndim == 3:
        x = np.expand_dims(x, axis=0)
    if layer_names is None:
        wanted = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.MaxPooling2D)
        layer_names = [layer.name for layer in model.layers if isinstance(layer, wanted)]
    layer_outputs = [model.get_layer(name).output for name in layer_names]
    activation_model = keras.Model(inputs=model.inputs, outputs=layer_outputs)
    activations = activation_model.predict(x, verbose=0)
    if len(layer_names) == 1:
        activations = [activations]
    return {name: act[0] for name, act in zip(layer_names, activations)}
''',
        BOOK + " (bench/book.py)",
    ),
    Variant(
        "v_act_model_per_layer", "extract_activations", "one small model per layer, called eagerly",
        '''def extract_activations(model, image, layer_names=None):
    batch = _as_batch(image)
    inputs = _model_inputs(model, batch)
    if layer_names is None:
        layer_names = [l.name for l in model.layers if l.__class__.__name__ in ("Conv2D", "SeparableConv2D", "MaxPooling2D")]
    result = {}
    for name in layer_names:
        layer = model.get_layer(name)
        result[name] = keras.ops.convert_to_numpy(keras.Model(inputs, layer.output)(batch))[0]
    return result
''',
        "the simplest loop",
    ),
    Variant(
        "v_grid_book_loops", "activation_grid", "the book's two loops over rows and columns, in-place standardization",
        '''def activation_grid(activation, images_per_row=16):
    size_h, size_w, n_features = activation.shape
    n_rows = -(-n_features // images_per_row)
    grid = np.zeros(((size_h + 1) * n_rows - 1, images_per_row * (size_w + 1) - 1))
    for row in range(n_rows):
        for col in range(images_per_row):
            index = row * images_per_row + col
            if index >= n_features:
                break
            channel = activation[:, :, index].astype("float64")
            if channel.std() > 0:
                channel -= channel.mean()
                channel /= channel.std()
                channel *= 64
                channel += 128
                channel = np.clip(channel, 0, 255)
            else:
                channel = np.zeros_like(channel)
            top, left = row * (size_h + 1), col * (size_w + 1)
            grid[top : top + size_h, left : left + size_w] = channel
    return grid.astype("uint8")
''',
        BOOK + " (listing 9.15, fixed)",
    ),
    Variant(
        "v_grid_vectorized", "activation_grid", "standardizes all channels at once with np.where, then tiles",
        '''def activation_grid(activation, images_per_row=16):
    act = np.asarray(activation, dtype="float64")
    h, w, c = act.shape
    std = act.std(axis=(0, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, (act - act.mean(axis=(0, 1))) / std * 64 + 128, 0)
    z = np.clip(z, 0, 255).astype("uint8")
    rows = -(-c // images_per_row)
    canvas = np.zeros(((h + 1) * rows - 1, (w + 1) * images_per_row - 1), dtype="uint8")
    for k in range(c):
        r, q = k // images_per_row, k % images_per_row
        canvas[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = z[:, :, k]
    return canvas
''',
        "vectorized numpy",
    ),
    Variant(
        "v_fl_keras_ops", "filter_loss", "keras.ops.mean on the cropped activation",
        '''def filter_loss(feature_extractor, image, filter_index):
    activation = feature_extractor(image)
    return keras.ops.mean(activation[:, 2:-2, 2:-2, filter_index])
''',
        "keras.ops-only code (keras-io visualizing_what_convnets_learn)",
    ),
    Variant(
        "v_step_tf_function_norm", "gradient_ascent_step", "the book's @tf.function step with grads / tf.norm(grads) and +=",
        '''@tf.function
def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = filter_loss(feature_extractor, image, filter_index)
    grads = tape.gradient(loss, image)
    grads = grads / tf.norm(grads)
    image += learning_rate * grads
    return image
''',
        BOOK + " (listing 9.18)",
    ),
    Variant(
        "v_pat_stateless_uniform", "generate_filter_pattern", "tf.random.stateless_uniform for a seeded start, ops-style loop",
        '''def generate_filter_pattern(
    feature_extractor, filter_index, iterations=30, learning_rate=10.0, image=None, img_size=(200, 200), seed=None
):
    if image is None:
        shape = (1, img_size[0], img_size[1], 3)
        if seed is None:
            image = tf.random.uniform(shape, minval=0.4, maxval=0.6)
        else:
            image = tf.random.stateless_uniform(shape, seed=[seed, 0], minval=0.4, maxval=0.6)
    image = tf.reshape(tf.convert_to_tensor(image, dtype="float32"), (1, *np.shape(image)[-3:]))
    for _ in range(iterations):
        image = gradient_ascent_step(feature_extractor, image, filter_index, learning_rate)
    return image[0].numpy()
''',
        "TensorFlow's random-seed guide",
    ),
    Variant(
        "v_dep_book_epsilon", "deprocess_image", "the book's in-place steps with std + 1e-5 and a guarded crop",
        '''def deprocess_image(image, crop=25):
    image = np.array(image, dtype="float32").reshape(np.shape(image)[-3:])
    image -= image.mean()
    image /= image.std() + 1e-5
    image *= 64
    image += 128
    image = np.clip(image, 0, 255).astype("uint8")
    if crop:
        image = image[crop:-crop, crop:-crop, :]
    return image
''',
        BOOK + " (bench/book.py)",
    ),
    Variant(
        "v_dep_divide_then_center", "deprocess_image", "divides by the std first, then subtracts the (scaled) mean",
        '''def deprocess_image(image, crop=25):
    x = np.asarray(image, dtype="float64")
    x = x.reshape(x.shape[-3:])
    std = x.std()
    x = (x / std - x.mean() / std) if std > 0 else np.zeros_like(x)
    x = np.clip(64 * x + 128, 0, 255).astype(np.uint8)
    return x[crop : x.shape[0] - crop, crop : x.shape[1] - crop]
''',
        "an equivalent order of the normalization",
    ),
    Variant(
        "v_gc_eager_ops", "grad_cam", "one two-output model, eager, keras.ops",
        '''from keras import ops


def grad_cam(model, image, last_conv_layer_name, class_index=None):
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
''',
        "tests/grader/interp_helpers.EAGER_GRAD_CAM",
    ),
    Variant(
        "v_gc_numpy_channel_loop", "grad_cam", "the book's numpy loop over channels, with one two-output model",
        '''def grad_cam(model, image, last_conv_layer_name, class_index=None):
    img_array = np.asarray(image, dtype="float32")
    if img_array.ndim == 3:
        img_array = img_array[None]
    _model_inputs(model, img_array)
    grad_model = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        last_conv_layer_output, preds = grad_model(img_array)
        if class_index is None:
            class_index = tf.argmax(preds[0])
        class_channel = preds[:, class_index]
    grads = tape.gradient(class_channel, last_conv_layer_output)
    pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2)).numpy()
    last_conv_layer_output = last_conv_layer_output.numpy()[0]
    for i in range(pooled_grads.shape[-1]):
        last_conv_layer_output[:, :, i] *= pooled_grads[i]
    heatmap = np.mean(last_conv_layer_output, axis=-1)
    heatmap = np.maximum(heatmap, 0)
    if np.max(heatmap) > 0:
        heatmap /= np.max(heatmap)
    return heatmap.astype("float32")
''',
        BOOK + " (listing 9.24's loop)",
    ),
    Variant(
        "v_gc_sum_over_channels", "grad_cam", "sums the weighted channels (the paper's formula) instead of averaging them",
        edited(
            GRAD_CAM,
            ("tf.reduce_mean(conv_output[0] * weights, axis=-1)", "tf.reduce_sum(conv_output[0] * weights, axis=-1)"),
        ),
        "Selvaraju et al. write L = ReLU(sum_k alpha_k A^k); a sum and a mean differ by the channel count, gone after /max",
    ),
    Variant(
        "v_gc_epsilon", "grad_cam", "divides by max + 1e-10 instead of testing the max",
        '''def grad_cam(model, image, last_conv_layer_name, class_index=None):
    batch = _as_batch(image)
    _model_inputs(model, batch)
    layer = model.get_layer(last_conv_layer_name)
    grad_model = keras.Model(model.inputs, [layer.output, model.outputs[0]])
    with tf.GradientTape() as tape:
        activation, preds = grad_model(batch, training=False)
        index = tf.argmax(preds[0]) if class_index is None else class_index
        score = tf.gather(preds, index, axis=1)
    grads = tape.gradient(score, activation)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = tf.nn.relu(tf.reduce_mean(activation * weights, axis=-1))[0]
    heatmap = heatmap / (tf.reduce_max(heatmap) + 1e-10)
    return heatmap.numpy().astype("float32")
''',
        "the epsilon habit instead of a test",
    ),
    Variant(
        "v_ov_book_pil", "overlay_heatmap", "the book's array_to_img + PIL resize (bicubic) + array_to_img rescale",
        '''def overlay_heatmap(image, heatmap, alpha=0.4):
    heatmap = np.uint8(255 * heatmap)
    jet = matplotlib.colormaps["jet"]
    jet_colors = jet(np.arange(256))[:, :3]
    jet_heatmap = jet_colors[heatmap]
    jet_heatmap = keras.utils.array_to_img(jet_heatmap)
    jet_heatmap = jet_heatmap.resize((image.shape[1], image.shape[0]))
    jet_heatmap = keras.utils.img_to_array(jet_heatmap)
    superimposed_img = jet_heatmap * alpha + image
    return np.asarray(keras.utils.array_to_img(superimposed_img))
''',
        BOOK + " (listing 9.26)",
    ),
    Variant(
        "v_ov_colormap_on_floats", "overlay_heatmap", "applies the colormap to the float heatmap directly, keras.ops resize",
        '''def overlay_heatmap(image, heatmap, alpha=0.4):
    colored = matplotlib.colormaps["jet"](np.clip(heatmap, 0, 1))[..., :3] * 255.0
    colored = keras.ops.convert_to_numpy(keras.ops.image.resize(colored, image.shape[:2], interpolation="bilinear"))
    total = alpha * colored + np.asarray(image, dtype="float64")
    total = (total - total.min()) / max(total.max() - total.min(), 1e-12) * 255
    return total.astype(np.uint8)
''',
        "matplotlib colormaps take floats in [0, 1]",
    ),
    Variant(
        "v_act_dict_outputs_predict", "extract_activations", "a dict-output model run with predict (returns a dict)",
        """def extract_activations(model, image, layer_names=None):
    x = np.asarray(image, dtype="float32").reshape((1,) + np.shape(image)[-3:])
    _model_inputs(model, x)
    if layer_names is None:
        layer_names = [l.name for l in model.layers if type(l).__name__ in ACTIVATION_LAYER_TYPES]
    if not layer_names:
        return {}
    outputs = {name: model.get_layer(name).output for name in layer_names}
    found = keras.Model(model.inputs, outputs).predict(x, verbose=0)
    return {name: found[name][0] for name in layer_names}
""",
        "Keras 3 models may return dicts",
    ),
    Variant(
        "v_grid_keras_ops", "activation_grid", "standardizes with keras.ops (mean, std, where, clip), then tiles",
        """def activation_grid(activation, images_per_row=16):
    ops = keras.ops
    h, w, c = np.shape(activation)
    x = ops.convert_to_tensor(np.asarray(activation, dtype="float64"))
    mean = ops.mean(x, axis=(0, 1), keepdims=True)
    std = ops.std(x, axis=(0, 1), keepdims=True)
    scaled = ops.where(std > 0, ops.clip((x - mean) / ops.where(std > 0, std, 1.0) * 64 + 128, 0, 255), 0.0)
    tiles = ops.convert_to_numpy(ops.cast(scaled, "uint8"))
    rows = -(-c // images_per_row)
    canvas = np.zeros(((h + 1) * rows - 1, (w + 1) * images_per_row - 1), dtype="uint8")
    for k in range(c):
        y, x0 = (k // images_per_row) * (h + 1), (k % images_per_row) * (w + 1)
        canvas[y : y + h, x0 : x0 + w] = tiles[:, :, k]
    return canvas
""",
        "keras.ops-only code (issue 21)",
    ),
    Variant(
        "v_fl_tf_function", "filter_loss", "a @tf.function filter_loss with tf.reduce_mean",
        """@tf.function
def filter_loss(feature_extractor, image, filter_index):
    activation = feature_extractor(image)
    return tf.reduce_mean(activation[:, 2:-2, 2:-2, filter_index])
""",
        "the book decorates the step; students decorate the loss too",
    ),
    Variant(
        "v_step_variable_assign", "gradient_ascent_step", "a tf.Variable image updated with assign_add",
        """def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    variable = tf.Variable(tf.convert_to_tensor(image, dtype=tf.float32))
    with tf.GradientTape() as tape:
        loss = filter_loss(feature_extractor, variable, filter_index)
    grads = tape.gradient(loss, variable)
    variable.assign_add(learning_rate * tf.math.l2_normalize(grads))
    return tf.convert_to_tensor(variable)
""",
        "variables are watched without tape.watch",
    ),
    Variant(
        "v_pat_keras_ops_loop", "generate_filter_pattern", "keras.ops start and loop, numpy seed",
        """def generate_filter_pattern(
    feature_extractor, filter_index, iterations=30, learning_rate=10.0, image=None, img_size=(200, 200), seed=None
):
    if image is None:
        image = np.random.default_rng(seed).uniform(0.4, 0.6, size=(1, *img_size, 3))
    image = keras.ops.reshape(keras.ops.convert_to_tensor(image, dtype="float32"), (1, *np.shape(image)[-3:]))
    for _ in range(iterations):
        image = gradient_ascent_step(feature_extractor, image, filter_index, learning_rate)
    return keras.ops.convert_to_numpy(image)[0].astype("float32")
""",
        "keras.ops-only code (issue 21)",
    ),
    Variant(
        "v_dep_keras_ops", "deprocess_image", "keras.ops standardization with a guarded std, crop by end index",
        """def deprocess_image(image, crop=25):
    ops = keras.ops
    x = ops.convert_to_tensor(np.asarray(image, dtype="float64").reshape(np.shape(image)[-3:]))
    x = x - ops.mean(x)
    std = ops.std(x)
    x = ops.where(std > 0, x / ops.where(std > 0, std, 1.0), x)
    x = ops.convert_to_numpy(ops.cast(ops.clip(x * 64 + 128, 0, 255), "uint8"))
    return x[crop : x.shape[0] - crop, crop : x.shape[1] - crop]
""",
        "keras.ops-only code (issue 21)",
    ),
    Variant(
        "v_gc_tf_function", "grad_cam", "the gradient computed in a @tf.function, numpy afterwards",
        """def grad_cam(model, image, last_conv_layer_name, class_index=None):
    batch = _as_batch(image)
    _model_inputs(model, batch)
    grad_model = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, model.outputs[0]])
    if class_index is None:
        class_index = int(np.argmax(grad_model(batch)[1][0]))

    @tf.function
    def weighted(x):
        with tf.GradientTape() as tape:
            conv, preds = grad_model(x, training=False)
            score = preds[:, class_index]
        weights = tf.reduce_mean(tape.gradient(score, conv), axis=(0, 1, 2))
        return tf.reduce_mean(conv[0] * weights, axis=-1)

    heatmap = np.maximum(weighted(tf.constant(batch)).numpy(), 0)
    peak = heatmap.max()
    return (heatmap / peak if peak > 0 else np.zeros_like(heatmap)).astype("float32")
""",
        "tf.function around the tape (issue 21)",
    ),
    Variant(
        "v_ov_keras_ops", "overlay_heatmap", "keras.ops resize and rescale, colormap lookup on uint8 indices",
        """def overlay_heatmap(image, heatmap, alpha=0.4):
    ops = keras.ops
    colors = matplotlib.colormaps["jet"](np.arange(256))[:, :3]
    colored = ops.image.resize((colors[np.uint8(255 * heatmap)] * 255).astype("float32"), image.shape[:2],
                               interpolation="bilinear")
    total = alpha * colored + ops.convert_to_tensor(np.asarray(image, dtype="float32"))
    total = (total - ops.min(total)) / (ops.max(total) - ops.min(total)) * 255
    return ops.convert_to_numpy(ops.cast(total, "uint8"))
""",
        "keras.ops-only code (issue 21)",
    ),
)
