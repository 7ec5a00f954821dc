"""Benchmark variants: Grad-CAM and filter-pattern implementations beside the book's."""

import keras
import numpy as np
import tensorflow as tf

XCEPTION_LAST_CONV = "block14_sepconv2_act"
XCEPTION_CLASSIFIER_LAYERS = ("avg_pool", "predictions")
FILTER_LAYER = "block3_sepconv1"


def xception(img_size=299):
    """Keras' Xception with random weights (nothing is downloaded), float32 (1, S, S, 3) -> (1, 1000)."""
    keras.utils.set_random_seed(0)
    return keras.applications.Xception(weights=None, input_shape=(img_size, img_size, 3))


def preprocessed_image(img_size=299, seed=0):
    """A seeded float32 (1, S, S, 3) image in [-1, 1] (Xception's preprocessing range)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(1, img_size, img_size, 3)).astype("float32")


def feature_extractor(layer_name=FILTER_LAYER):
    """As in the book: Xception without its top (any input size), input -> ``layer_name``'s output."""
    keras.utils.set_random_seed(0)
    model = keras.applications.Xception(weights=None, include_top=False)
    return keras.Model(model.inputs, model.get_layer(layer_name).output)


class EagerOneModelGradCam:
    """One two-output model (activation, predictions), run eagerly: separates the two effects."""

    def __init__(self, model, layer_name):
        self.grad_model = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])

    def __call__(self, batch):
        with tf.GradientTape() as tape:
            activation, preds = self.grad_model(batch, training=False)
            score = preds[:, tf.argmax(preds[0])]
        grads = tape.gradient(score, activation)
        weights = tf.reduce_mean(grads, axis=(0, 1, 2))
        heatmap = np.maximum(tf.reduce_mean(activation[0] * weights, axis=-1).numpy(), 0)
        peak = heatmap.max()
        return heatmap / peak if peak > 0 else heatmap


def start_images(count, img_size, seed=0):
    """float32 (count, H, W, 3) uniform(0.4, 0.6) start images, seeded."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.4, 0.6, size=(count,) + tuple(img_size) + (3,)).astype("float32")


def traced_ascent(extractor, jit_compile=False):
    """``f(images (K,H,W,3), filter_indices (K,), learning_rate, iterations) -> images``, traced once.

    The whole loop is one graph; the K images are independent (inference
    mode), each ascends its own filter and its gradient is normalized by
    its own L2 norm, so K = 1 is exactly the book's per-filter ascent.
    """

    @tf.function(jit_compile=jit_compile)
    def ascend(images, filter_indices, learning_rate, iterations):
        for _ in tf.range(iterations):
            with tf.GradientTape() as tape:
                tape.watch(images)
                activation = extractor(images, training=False)[:, 2:-2, 2:-2, :]
                # (K, h, w): channel filter_indices[k] of image k
                chosen = tf.gather(activation, filter_indices, axis=3, batch_dims=1)
                loss = tf.reduce_sum(tf.reduce_mean(chosen, axis=(1, 2)))
            grads = tape.gradient(loss, images)
            # per-image global L2 norm, as tf.math.l2_normalize(grads, axis=None) for one image
            grads = tf.math.l2_normalize(grads, axis=(1, 2, 3))
            images = images + learning_rate * grads
        return images

    return ascend


def run_batched(ascend, starts, filters, batch, iterations, learning_rate=10.0):
    """Patterns float32 (N, H, W, 3) for ``filters``, ``batch`` filters per call of ``ascend``."""
    out = []
    for i in range(0, len(filters), batch):
        images = tf.constant(starts[i : i + batch])
        indices = tf.constant(filters[i : i + batch], dtype=tf.int32)
        out.append(ascend(images, indices, tf.constant(learning_rate), tf.constant(iterations)).numpy())
    return np.concatenate(out)
