"""Correct code written differently from ``solutions/``: each must get full marks (the false-positive set).

Separate activation layers, ``layers.Add()`` or ``keras.ops``, Sequential
pieces, subclassed ``Layer``/``Model`` made of the same layers, nested
composite layers, the book's own ways (``predict``, in-place numpy, two
loops over the grid, PIL resizing, an epsilon in deprocess), numpy vs
TensorFlow, another but equivalent order of the normalization.
"""

from tools.mistakes.catalogue import Variant, edited
from tools.mistakes.entries_gradcam import GRAD_CAM

BOOK = "the book's own code"

VARIANTS = (
    # -- segmentation -------------------------------------------------------------------------
    Variant(
        "v_trimap_lookup_table", "trimap_to_classes", "checks with np.isin and maps through a lookup table",
        '''def trimap_to_classes(trimap):
    trimap = np.asarray(trimap)
    values = np.unique(trimap)
    bad = values[~np.isin(values, [1, 2, 3])]
    if len(bad):
        raise ValueError(f"unexpected trimap values: {bad.tolist()}")
    table = np.array([0, 0, 1, 2], dtype=np.uint8)
    return table[trimap]
''',
        "a lookup table is the idiomatic numpy mapping",
    ),
    Variant(
        "v_trimap_select", "trimap_to_classes", "maps with np.select and checks with a set",
        '''def trimap_to_classes(trimap):
    trimap = np.asarray(trimap)
    unexpected = sorted(set(np.unique(trimap).tolist()) - {1, 2, 3})
    if unexpected:
        raise ValueError(f"trimap has values {unexpected} besides 1, 2, 3")
    classes = np.select([trimap == 1, trimap == 2, trimap == 3], [0, 1, 2])
    return classes.astype(np.uint8)
''',
        "explicit per-value conditions",
    ),
    Variant(
        "v_enc_activation_layers", "strided_downsampling", "linear Conv2D followed by Activation('relu') / ReLU()",
        '''def strided_downsampling(x, filters=(64, 128, 256)):
    for f in filters:
        x = layers.Conv2D(f, 3, strides=2, padding="same")(x)
        x = layers.Activation("relu")(x)
        x = layers.Conv2D(f, 3, padding="same")(x)
        x = layers.ReLU()(x)
    return x
''',
        "activation layers written separately",
    ),
    Variant(
        "v_enc_sequential_stages", "strided_downsampling", "one keras.Sequential per stage (a nested composite layer)",
        '''def strided_downsampling(x, filters=(64, 128, 256)):
    for f in filters:
        stage = keras.Sequential([
            layers.Conv2D(f, 3, strides=2, activation="relu", padding="same"),
            layers.Conv2D(f, 3, activation="relu", padding="same"),
        ])
        x = stage(x)
    return x
''',
        "stages as reusable blocks",
    ),
    Variant(
        "v_enc_subclassed_stage", "strided_downsampling", "a subclassed Layer holding the two convolutions of a stage",
        '''class DownStage(layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.down = layers.Conv2D(filters, 3, strides=2, activation="relu", padding="same")
        self.conv = layers.Conv2D(filters, 3, activation="relu", padding="same")

    def call(self, x):
        return self.conv(self.down(x))


def strided_downsampling(x, filters=(64, 128, 256)):
    for f in filters:
        x = DownStage(f)(x)
    return x
''',
        "Keras' 'making new layers via subclassing' guide",
    ),
    Variant(
        "v_dec_relu_layers", "conv_transpose_decoder", "linear Conv2DTranspose followed by ReLU()",
        '''def conv_transpose_decoder(x, filters=(256, 128, 64)):
    for f in filters:
        x = layers.Conv2DTranspose(f, 3, padding="same")(x)
        x = layers.ReLU()(x)
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same")(x)
        x = layers.ReLU()(x)
    return x
''',
        "activation layers written separately",
    ),
    Variant(
        "v_seg_softmax_layer", "build_segmentation_model", "linear final Conv2D followed by a Softmax layer",
        '''def build_segmentation_model(img_size=(200, 200), num_classes=3, filters=(64, 128, 256)):
    inputs = keras.Input(shape=(*img_size, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = strided_downsampling(x, filters)
    x = conv_transpose_decoder(x, filters[::-1])
    x = layers.Conv2D(num_classes, 3, padding="same")(x)
    outputs = layers.Softmax()(x)
    return keras.Model(inputs=inputs, outputs=outputs)
''',
        "the activation as its own layer",
    ),
    Variant(
        "v_seg_ops_rescale", "build_segmentation_model", "rescales with keras.ops on the symbolic input instead of a Rescaling layer",
        '''def build_segmentation_model(img_size=(200, 200), num_classes=3, filters=(64, 128, 256)):
    inputs = keras.Input(shape=tuple(img_size) + (3,))
    x = keras.ops.divide(inputs, 255.0)
    x = strided_downsampling(x, filters)
    x = conv_transpose_decoder(x, tuple(reversed(filters)))
    outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")(x)
    return keras.Model(inputs, outputs)
''',
        "keras.ops-only preprocessing (issue 21: keras.ops-only code passes)",
    ),
    Variant(
        "v_seg_subclassed_model", "build_segmentation_model", "a subclassed keras.Model made of the same layers, built for img_size",
        '''class SegmentationModel(keras.Model):
    def __init__(self, num_classes, filters, **kwargs):
        super().__init__(**kwargs)
        self.rescale = layers.Rescaling(1.0 / 255)
        self.body = []
        for f in filters:
            self.body.append(layers.Conv2D(f, 3, strides=2, activation="relu", padding="same"))
            self.body.append(layers.Conv2D(f, 3, activation="relu", padding="same"))
        for f in reversed(filters):
            self.body.append(layers.Conv2DTranspose(f, 3, activation="relu", padding="same"))
            self.body.append(layers.Conv2DTranspose(f, 3, strides=2, activation="relu", padding="same"))
        self.classifier = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")

    def call(self, inputs):
        x = self.rescale(inputs)
        for layer in self.body:
            x = layer(x)
        return self.classifier(x)


def build_segmentation_model(img_size=(200, 200), num_classes=3, filters=(64, 128, 256)):
    model = SegmentationModel(num_classes, filters)
    model.build((None, *img_size, 3))
    return model
''',
        "the book's chapter 7 model-subclassing style",
    ),
    Variant(
        "v_iou_keras_metric", "mean_iou", "keras.metrics.MeanIoU on flattened labels",
        '''def mean_iou(y_true, y_pred, num_classes):
    y_pred = np.asarray(y_pred)
    if y_pred.shape[-1] == num_classes and y_pred.size == np.size(y_true) * num_classes:
        y_pred = y_pred.argmax(-1)
    metric = keras.metrics.MeanIoU(num_classes=num_classes)
    metric.update_state(np.reshape(y_true, -1), np.reshape(y_pred, -1))
    return float(metric.result())
''',
        "the metric the contract names",
    ),
    Variant(
        "v_iou_confusion_matrix", "mean_iou", "a confusion matrix from np.bincount; IoU = diag / (row + col - diag)",
        '''def mean_iou(y_true, y_pred, num_classes):
    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred)
    if y_pred.shape[-1] == num_classes and y_pred.size == y_true.size * num_classes:
        y_pred = np.argmax(y_pred, axis=-1)
    y_pred = y_pred.astype(int).ravel()
    cm = np.bincount(y_true * num_classes + y_pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)
    inter = np.diag(cm)
    union = cm.sum(axis=0) + cm.sum(axis=1) - inter
    present = union > 0
    return float(np.mean(inter[present] / union[present])) if present.any() else 0.0
''',
        "how MeanIoU is implemented (a confusion matrix)",
    ),
    # -- architecture ------------------------------------------------------------------------
    Variant(
        "v_res_add_layer_and_activations", "residual_block", "layers.Add() and separate Activation layers",
        '''def residual_block(x, filters, pooling=False):
    residual = x
    x = layers.Conv2D(filters, 3, padding="same")(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(filters, 3, padding="same")(x)
    x = layers.Activation("relu")(x)
    if pooling:
        x = layers.MaxPooling2D(pool_size=2, padding="same")(x)
        residual = layers.Conv2D(filters, kernel_size=1, strides=2)(residual)
    elif residual.shape[-1] != filters:
        residual = layers.Conv2D(filters, kernel_size=1)(residual)
    return layers.Add()([x, residual])
''',
        "the Add layer instead of the add function",
    ),
    Variant(
        "v_res_subclassed_layer", "residual_block", "a subclassed Layer made of the block's layers",
        '''class ResidualBlock(layers.Layer):
    def __init__(self, filters, pooling, project, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = layers.Conv2D(filters, 3, activation="relu", padding="same")
        self.conv2 = layers.Conv2D(filters, 3, activation="relu", padding="same")
        self.pool = layers.MaxPooling2D(2, padding="same") if pooling else None
        if pooling:
            self.shortcut = layers.Conv2D(filters, 1, strides=2)
        elif project:
            self.shortcut = layers.Conv2D(filters, 1)
        else:
            self.shortcut = None

    def call(self, inputs):
        x = self.conv2(self.conv1(inputs))
        if self.pool is not None:
            x = self.pool(x)
        residual = inputs if self.shortcut is None else self.shortcut(inputs)
        return x + residual


def residual_block(x, filters, pooling=False):
    return ResidualBlock(filters, pooling, project=x.shape[-1] != filters)(x)
''',
        "issue 21 item 3: a subclassed Layer made of the same layers passes",
    ),
    Variant(
        "v_cbr_subclassed_layer", "conv_bn_relu", "conv -> BN -> ReLU as a subclassed Layer (the issue's example)",
        '''class ConvBNReLU(layers.Layer):
    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)
        self.bn = layers.BatchNormalization()
        self.relu = layers.ReLU()

    def call(self, inputs, training=None):
        return self.relu(self.bn(self.conv(inputs), training=training))


def conv_bn_relu(x, filters, kernel_size=3):
    return ConvBNReLU(filters, kernel_size)(x)
''',
        "issue 21: 'a conv -> BN -> ReLU written as a subclassed Keras Layer loses 4 points'",
    ),
    Variant(
        "v_cbr_sequential", "conv_bn_relu", "the three layers in a keras.Sequential",
        '''def conv_bn_relu(x, filters, kernel_size=3):
    block = keras.Sequential([
        layers.Conv2D(filters, kernel_size, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
    ])
    return block(x)
''',
        "a nested composite layer",
    ),
    Variant(
        "v_cbr_ops_relu", "conv_bn_relu", "keras.ops.relu on the normalized tensor",
        '''def conv_bn_relu(x, filters, kernel_size=3):
    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return keras.ops.relu(x)
''',
        "keras.ops-only activation",
    ),
    Variant(
        "v_sep_factored", "separable_conv_params", "factored formula in_channels * (k**2 + out_channels)",
        '''def separable_conv_params(in_channels, out_channels, kernel_size=3):
    regular = kernel_size ** 2 * in_channels * out_channels
    separable = in_channels * (kernel_size ** 2 + out_channels)
    return (regular, separable)
''',
        "algebra",
    ),
    Variant(
        "v_sep_count_keras_layers", "separable_conv_params", "builds bias-free Keras layers and counts their parameters",
        '''def separable_conv_params(in_channels, out_channels, kernel_size=3):
    shape = (None, 16, 16, in_channels)
    regular = layers.Conv2D(out_channels, kernel_size, use_bias=False)
    separable = layers.SeparableConv2D(out_channels, kernel_size, use_bias=False)
    regular.build(shape)
    separable.build(shape)
    return int(regular.count_params()), int(separable.count_params())
''',
        "let Keras count",
    ),
    Variant(
        "v_xc_ops_add_sequential_halves", "xception_block", "Sequential halves and keras.ops.add",
        '''def xception_block(x, filters):
    residual = x
    for _ in range(2):
        x = keras.Sequential([
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.SeparableConv2D(filters, 3, padding="same", use_bias=False),
        ])(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    residual = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(residual)
    return keras.ops.add(x, residual)
''',
        "nested composite layers and keras.ops",
    ),
    Variant(
        "v_xc_shortcut_first", "xception_block", "builds the shortcut before the main path, ReLU layers, + operator",
        '''def xception_block(x, filters):
    shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(x)
    y = layers.ReLU()(y)
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.MaxPooling2D(pool_size=3, strides=2, padding="same")(y)
    return y + shortcut
''',
        "layers created in another order",
    ),
    Variant(
        "v_mx_sequential_augmentation", "build_mini_xception", "the book's data_augmentation Sequential and an Activation head",
        '''def build_mini_xception(input_shape=(180, 180, 3), num_classes=1, block_filters=(32, 64, 128, 256, 512), augment=True):
    inputs = keras.Input(shape=input_shape)
    x = inputs
    if augment:
        data_augmentation = keras.Sequential(
            [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(0.2)]
        )
        x = data_augmentation(x)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(filters=32, kernel_size=5, use_bias=False)(x)
    for size in block_filters:
        x = xception_block(x, size)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    if num_classes == 1:
        x = layers.Dense(1)(x)
        outputs = layers.Activation("sigmoid")(x)
    else:
        outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)
''',
        BOOK + " (listing 9.9's data_augmentation)",
    ),
    Variant(
        "v_mx_inline_blocks", "build_mini_xception", "writes the (correct, pre-activation) blocks inline instead of calling xception_block",
        '''def build_mini_xception(input_shape=(180, 180, 3), num_classes=1, block_filters=(32, 64, 128, 256, 512), augment=True):
    inputs = keras.Input(shape=input_shape)
    x = inputs
    if augment:
        x = layers.RandomFlip("horizontal")(x)
        x = layers.RandomRotation(0.1)(x)
        x = layers.RandomZoom(0.2)(x)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(32, 5, use_bias=False)(x)
    for size in block_filters:
        residual = x
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same", use_bias=False)(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same", use_bias=False)(residual)
        x = layers.add([x, residual])
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    activation, units = ("sigmoid", 1) if num_classes == 1 else ("softmax", num_classes)
    outputs = layers.Dense(units, activation=activation)(x)
    return keras.Model(inputs, outputs)
''',
        "listing 9.10 writes the blocks inline",
    ),
    # -- interpretation -----------------------------------------------------------------------
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
)
