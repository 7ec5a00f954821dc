"""Correct Lab 2 code written differently from ``solutions/architecture.py`` (the false-positive set, part 2).

Each must get full marks: separate activation layers, ``layers.Add()`` or
``keras.ops``, Sequential pieces, subclassed ``Layer``/``Model`` made of the
same layers, nested composite layers, the book's own ways, numpy vs
TensorFlow, another but equivalent order of the normalization.
"""

from tools.mistakes.catalogue import Variant

VARIANTS = (
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
        "the book's own code (listing 9.9's data_augmentation)",
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
    Variant(
        "v_xc_subclassed_layer", "xception_block", "a subclassed Layer holding the block's layers, shortcut created first",
        '''class XceptionBlock(layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)
        self.norm1, self.norm2 = layers.BatchNormalization(), layers.BatchNormalization()
        self.sep1 = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)
        self.sep2 = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)
        self.pool = layers.MaxPooling2D(3, strides=2, padding="same")

    def call(self, inputs, training=None):
        x = self.sep1(keras.ops.relu(self.norm1(inputs, training=training)))
        x = self.sep2(keras.ops.relu(self.norm2(x, training=training)))
        return self.pool(x) + self.shortcut(inputs)


def xception_block(x, filters):
    return XceptionBlock(filters)(x)
''',
        "issue 21 item 3: the block as a subclassed Layer (keras-io style), keras.ops.relu and + inside",
    ),
    Variant(
        "v_sep_keras_ops_free_ints", "separable_conv_params", "plain arithmetic in one return, int() around each count",
        '''def separable_conv_params(in_channels, out_channels, kernel_size=3):
    depthwise = kernel_size ** 2 * in_channels
    return int(depthwise * out_channels), int(depthwise + in_channels * out_channels)
''',
        "the count written from the depthwise part outwards",
    ),
)
