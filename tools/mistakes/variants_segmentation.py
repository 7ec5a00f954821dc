"""Correct Lab 1 code written differently from ``solutions/segmentation.py`` (the false-positive set, part 1).

Each must get full marks: separate activation layers, ``layers.Add()`` or
``keras.ops``, Sequential pieces, subclassed ``Layer``/``Model`` made of the
same layers, nested composite layers, the book's own ways, numpy vs
TensorFlow, another but equivalent order of the normalization.
"""

from tools.mistakes.catalogue import Variant

VARIANTS = (
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
    Variant(
        "v_dec_subclassed_stage", "conv_transpose_decoder", "a subclassed Layer holding the two transposed convolutions of a stage",
        '''class UpStage(layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.same = layers.Conv2DTranspose(filters, 3, activation="relu", padding="same")
        self.up = layers.Conv2DTranspose(filters, 3, strides=2, activation="relu", padding="same")

    def call(self, inputs):
        return self.up(self.same(inputs))


def conv_transpose_decoder(x, filters=(256, 128, 64)):
    for f in filters:
        x = UpStage(f)(x)
    return x
''',
        "issue 21 item 3: a nested composite layer in the decoder",
    ),
    Variant(
        "v_iou_ops_only", "mean_iou", "keras.ops only: one-hot masks, sums and a mask for the non-empty unions",
        '''def mean_iou(y_true, y_pred, num_classes):
    y_true = keras.ops.reshape(keras.ops.convert_to_tensor(y_true), (-1,))
    y_pred = keras.ops.convert_to_tensor(y_pred)
    if keras.ops.ndim(y_pred) > 0 and y_pred.shape[-1] == num_classes and keras.ops.size(y_pred) == keras.ops.size(y_true) * num_classes:
        y_pred = keras.ops.argmax(y_pred, axis=-1)
    y_pred = keras.ops.reshape(y_pred, (-1,))
    true = keras.ops.one_hot(keras.ops.cast(y_true, "int32"), num_classes)
    pred = keras.ops.one_hot(keras.ops.cast(y_pred, "int32"), num_classes)
    inter = keras.ops.sum(true * pred, axis=0)
    union = keras.ops.sum(keras.ops.maximum(true, pred), axis=0)
    present = keras.ops.cast(union > 0, "float32")
    iou = inter / keras.ops.maximum(union, 1.0)
    return float(keras.ops.convert_to_numpy(keras.ops.sum(iou * present) / keras.ops.sum(present)))
''',
        "issue 21 item 3: keras.ops-only code",
    ),
    Variant(
        "v_trimap_ops_lookup", "trimap_to_classes", "np.unique for the check, np.take on a lookup table for the mapping",
        '''def trimap_to_classes(trimap):
    trimap = np.asarray(trimap)
    found = set(np.unique(trimap).tolist())
    if not found <= {1, 2, 3}:
        raise ValueError(f"unexpected trimap values {sorted(found - {1, 2, 3})}")
    return np.take(np.array([0, 0, 1, 2], dtype="uint8"), trimap.astype("int64"))
''',
        "a table lookup that also handles any integer dtype",
    ),
)
