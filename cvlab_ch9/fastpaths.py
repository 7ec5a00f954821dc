"""Traced Grad-CAM and batched filter-pattern ascent for the UI and the benchmarks.

``solutions/interpretation.py`` is the answer key and reads like the book:
it builds its Keras models on every call and runs eagerly. The UI (one
click per heatmap, a gallery of patterns) and ``bench/`` need the same
computations faster, so they use this module instead:

- :class:`GradCam`: one two-output model (activation, predictions), its
  gradient traced once per input shape with the class index as a tensor.
- :class:`FilterAscent`: the gradient ascent of ``generate_filter_pattern``
  for many filters: the model is cut at the layer's input and only the
  chosen channel of the layer is computed, BatchNormalization layers right
  after a convolution are folded into its kernel, K filters ascend together
  as a batch of K independent images, and one traced step serves every
  filter and learning rate.

Both equal the reference within float tolerance
(``tests/test_fastpaths.py`` sets identical weights and compares). This
module imports nothing from ``solutions/`` or ``grader/`` (the student kit
leaves it out). Import TensorFlow with :func:`cvlab_ch9.quiet.import_tensorflow`
first to keep its log lines off stderr.
"""

import weakref

import keras
import numpy as np
import tensorflow as tf

# One GradCam / FilterAscent per model, weakly keyed: an entry goes with its model.
_GRAD_CAMS = weakref.WeakKeyDictionary()
_ASCENTS = weakref.WeakKeyDictionary()


def _batch_of_one(image):
    """float32 (1, H, W, C) from an (H, W, C) or (1, H, W, C) array or tensor."""
    batch = np.asarray(image, dtype="float32")
    return batch[np.newaxis] if batch.ndim == 3 else batch


# -- Grad-CAM -------------------------------------------------------------------------


class GradCam:
    """Grad-CAM of one built ``model`` at ``layer_name`` (a layer with a (1, h, w, c) output).

    ``GradCam(model, name)(batch, class_index)`` equals the reference
    ``grad_cam(model, batch, name, class_index)``: float32 (h, w) in [0, 1],
    all zeros when nothing speaks for the class.
    """

    def __init__(self, model, layer_name):
        layer = model.get_layer(layer_name)
        # one forward pass gives both, whatever the layers after the conv layer are
        self._grad_model = keras.Model(model.inputs, [layer.output, model.outputs[0]])
        self.num_classes = model.outputs[0].shape[-1]
        self.activation_and_grads = tf.function(self._activation_and_grads)

    def _activation_and_grads(self, batch, class_index):
        """(activation, d score / d activation), both (1, h, w, c); class_index < 0 is the top class."""
        with tf.GradientTape() as tape:
            activation, preds = self._grad_model(batch, training=False)
            top = tf.argmax(preds[0], output_type=tf.int32)
            score = preds[:, tf.where(class_index < 0, top, class_index)]
        return activation, tape.gradient(score, activation)

    def __call__(self, image, class_index=None):
        """float32 (h, w) heatmap for a float32 (1, H, W, 3) or (H, W, 3) image."""
        if class_index is not None and not 0 <= class_index < self.num_classes:
            raise ValueError(f"class_index {class_index} is out of range: the model has {self.num_classes} output(s).")
        index = tf.constant(-1 if class_index is None else int(class_index), dtype=tf.int32)
        activation, grads = self.activation_and_grads(tf.constant(_batch_of_one(image)), index)
        weights = tf.reduce_mean(grads, axis=(0, 1, 2))  # (c,)
        heatmap = np.maximum(tf.reduce_mean(activation[0] * weights, axis=-1).numpy(), 0)  # (h, w)
        peak = heatmap.max()
        return (heatmap / peak if peak > 0 else heatmap).astype("float32")


def grad_cam(model, image, last_conv_layer_name, class_index=None):
    """The reference ``grad_cam`` with a :class:`GradCam` kept per (model, layer)."""
    per_model = _GRAD_CAMS.setdefault(model, {})
    if last_conv_layer_name not in per_model:
        per_model[last_conv_layer_name] = GradCam(model, last_conv_layer_name)
    return per_model[last_conv_layer_name](image, class_index)


# -- filter patterns ------------------------------------------------------------------


def start_images(img_size, seeds):
    """float32 (N, H, W, 3): for each seed the reference's start, uniform(0.4, 0.6) from ``default_rng(seed)``."""
    return np.concatenate(
        [np.random.default_rng(seed).uniform(0.4, 0.6, size=(1, *img_size, 3)) for seed in seeds]
    ).astype("float32")


class _FoldedBatchNorm(keras.layers.Layer):
    """Stands where a BatchNormalization was folded into the convolution before it."""

    def call(self, inputs, training=None, mask=None):
        return inputs


_FOLDABLE = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)


def _consumers(model):
    """{id of a KerasTensor: names of the layers of ``model`` that take it as input}."""
    consumers = {}
    for layer in model.layers:
        for node in layer._inbound_nodes:  # Keras 3 has no public graph API
            for tensor in node.input_tensors:
                consumers.setdefault(id(tensor), set()).add(layer.name)
    return consumers


def _foldable_pairs(model):
    """{convolution name: the BatchNormalization it alone feeds}, for an inference-mode fold."""
    consumers = _consumers(model)
    pairs = {}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.BatchNormalization) or layer.axis not in (-1, 3):
            continue
        if len(layer._inbound_nodes) != 1:
            continue
        (source,) = layer._inbound_nodes[0].input_tensors
        producer = source._keras_history.operation
        if (
            isinstance(producer, _FOLDABLE)
            and type(producer).__name__ != "Conv2DTranspose"
            and producer.data_format == "channels_last"
            and producer.activation is keras.activations.linear
            and len(producer._inbound_nodes) == 1
            and consumers.get(id(source)) == {layer.name}
        ):
            pairs[producer.name] = layer
    return pairs


def _folded_weights(conv, bn):
    """``conv``'s weights with ``bn`` (inference) folded in: the last kernel scaled per output channel, a bias added."""
    mean, variance = np.asarray(bn.moving_mean), np.asarray(bn.moving_variance)
    gamma = np.asarray(bn.gamma) if bn.scale else np.ones_like(mean)
    beta = np.asarray(bn.beta) if bn.center else np.zeros_like(mean)
    scale = gamma / np.sqrt(variance + bn.epsilon)  # (c_out,)
    weights = [np.asarray(w) for w in conv.get_weights()]
    bias = weights.pop() if conv.use_bias else np.zeros_like(mean)
    kernel_index = len(weights) - 1  # SeparableConv2D: (depthwise, pointwise); the pointwise one makes c_out
    kernel = weights[kernel_index]
    weights[kernel_index] = kernel * scale.reshape(kernel.shape[-2:]) if isinstance(
        conv, keras.layers.DepthwiseConv2D
    ) else kernel * scale
    return [*weights, (bias - mean) * scale + beta]


def fold_batch_norms(model):
    """A copy of the functional ``model`` with every Conv -> BatchNormalization pair folded (inference only).

    Returns ``model`` itself when there is nothing to fold or the graph has
    nested models (they are not rewritten). The copy computes the same
    outputs in inference mode up to float rounding.
    """
    if not isinstance(model, keras.Model) or any(isinstance(layer, keras.Model) for layer in model.layers):
        return model
    pairs = _foldable_pairs(model)
    if not pairs:
        return model
    folded = {bn.name for bn in pairs.values()}

    def clone_layer(layer):
        if layer.name in folded:
            return _FoldedBatchNorm(name=layer.name)
        config = layer.get_config()
        if layer.name in pairs:
            config["use_bias"] = True
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    for layer in model.layers:
        if layer.name in folded or not layer.weights:
            continue
        weights = _folded_weights(layer, pairs[layer.name]) if layer.name in pairs else layer.get_weights()
        clone.get_layer(layer.name).set_weights(weights)
    return clone


def _target_layer(feature_extractor):
    """The layer whose output the extractor returns, or None when that is not its last layer's only output."""
    layer = feature_extractor.layers[-1]
    if len(layer._inbound_nodes) != 1 or layer.output is not feature_extractor.outputs[0]:
        return None
    return layer


def _sliceable(layer):
    """Whether :func:`_one_channel_per_image` can compute ``layer``'s channels one at a time."""
    return (
        type(layer) in (keras.layers.Conv2D, keras.layers.SeparableConv2D)
        and layer.data_format == "channels_last"
        and getattr(layer, "groups", 1) == 1
    )


def _one_channel_per_image(layer, inputs, filter_indices):
    """``layer(inputs)[k, :, :, filter_indices[k]]`` for each image k, computing only those channels.

    Args:
        layer: a channels-last Conv2D or SeparableConv2D.
        inputs: float32 (K, H, W, C) tensor, the layer's input.
        filter_indices: int32 (K,) tensor.

    Returns:
        float32 (K, h, w).
    """
    options = {"strides": layer.strides, "padding": layer.padding, "dilation_rate": layer.dilation_rate}
    if isinstance(layer, keras.layers.SeparableConv2D):
        x = keras.ops.depthwise_conv(inputs, layer.depthwise_kernel, **options)  # (K, h, w, C * m)
        columns = tf.gather(layer.pointwise_kernel[0, 0], filter_indices, axis=1)  # (C * m, K)
        out = tf.einsum("khwc,ck->khw", x, columns)
    else:
        kernels = tf.gather(layer.kernel, filter_indices, axis=3)  # (kh, kw, C, K)
        every = keras.ops.conv(inputs, kernels, **options)  # (K, h, w, K): image k with each chosen filter
        out = tf.einsum("khwk->khw", every)  # the diagonal: image k with its own filter
    if layer.use_bias:
        out = out + tf.gather(layer.bias, filter_indices)[:, None, None]
    return layer.activation(out)


class FilterAscent:
    """``generate_filter_pattern`` for many filters of one feature extractor, batched and traced.

    Each of the K images of a batch ascends its own filter and is
    normalized by its own L2 norm, so a pattern equals the reference's
    ``generate_filter_pattern(extractor, index, ..., image=start)``.

    Args:
        feature_extractor: built ``keras.Model`` from images (1, H, W, 3) to one layer's output.
        slice_layer: compute only the chosen channel of that layer (Conv2D
            and SeparableConv2D layers; others are computed whole).
        fold_batch_norm: fold BatchNormalization layers into the
            convolutions before them (see :func:`fold_batch_norms`).
    """

    def __init__(self, feature_extractor, slice_layer=True, fold_batch_norm=True):
        self.channels = feature_extractor.outputs[0].shape[-1]
        layer = _target_layer(feature_extractor)
        self.sliced = slice_layer and layer is not None and _sliceable(layer)
        if self.sliced:
            self._layer = layer
            body = keras.Model(feature_extractor.inputs, layer.input)
        else:
            body = feature_extractor
        self._body = fold_batch_norms(body) if fold_batch_norm else body
        self.folded = self._body is not body
        self.step = tf.function(
            self._step,
            input_signature=(
                tf.TensorSpec((None, None, None, 3), tf.float32),
                tf.TensorSpec((None,), tf.int32),
                tf.TensorSpec((), tf.float32),
            ),
        )

    def _losses(self, images, filter_indices):
        """float32 (K,): mean of channel filter_indices[k] of image k, 2-pixel border excluded."""
        features = self._body(images, training=False)
        if self.sliced:
            chosen = _one_channel_per_image(self._layer, features, filter_indices)
        else:
            chosen = tf.gather(features, filter_indices, axis=3, batch_dims=1)  # (K, h, w)
        # float32 even when the model computes in a lower precision
        return tf.reduce_mean(tf.cast(chosen[:, 2:-2, 2:-2], tf.float32), axis=(1, 2))

    def _step(self, images, filter_indices, learning_rate):
        """One ascent step of K images (K, H, W, 3), each on its own filter."""
        with tf.GradientTape() as tape:
            tape.watch(images)
            # the images are independent, so the gradient of the sum is each image's own gradient
            loss = tf.reduce_sum(self._losses(images, filter_indices))
        grads = tape.gradient(loss, images)
        return images + learning_rate * tf.math.l2_normalize(grads, axis=(1, 2, 3))

    def patterns(self, filter_indices, starts, iterations=30, learning_rate=10.0, batch_size=4):
        """float32 (N, H, W, 3) patterns of the N ``filter_indices`` from ``starts`` (N, H, W, 3).

        ``batch_size`` filters ascend together (the last batch may be smaller).
        Measured on 2 cores: 4 per batch is as fast per filter as 8 and holds
        half the memory (``python -m bench --sections filters``).
        """
        filter_indices = [int(i) for i in filter_indices]
        bad = [i for i in filter_indices if not 0 <= i < self.channels]
        if bad:
            raise ValueError(f"filter_index {bad[0]} is out of range: the layer has {self.channels} filters.")
        starts = np.asarray(starts, dtype="float32")
        rate = tf.constant(learning_rate, dtype=tf.float32)
        out = []
        for first in range(0, len(filter_indices), batch_size):
            images = tf.constant(starts[first : first + batch_size])
            indices = tf.constant(filter_indices[first : first + batch_size], dtype=tf.int32)
            for _ in range(iterations):
                images = self.step(images, indices, rate)
            out.append(images.numpy())
        return np.concatenate(out) if out else np.zeros((0, *starts.shape[1:]), "float32")


def filter_ascent(feature_extractor):
    """The :class:`FilterAscent` of ``feature_extractor`` (default options), kept while the extractor lives."""
    if feature_extractor not in _ASCENTS:
        _ASCENTS[feature_extractor] = FilterAscent(feature_extractor)
    return _ASCENTS[feature_extractor]
