"""The book's implementations (DLwP 2nd ed., listings 9.x), written faithfully as baselines.

Grad-CAM: two models (the input -> last conv layer model and a classifier
model rebuilt from the layers after it on a new Input), a GradientTape run
eagerly, the channel weighting in a numpy loop. Filter visualization:
``compute_loss`` + an ``@tf.function`` ``gradient_ascent_step`` called 30
times from Python per filter, with Python ``int``/``float`` arguments (so
every filter index traces the step again), one filter at a time.
"""

import keras
import numpy as np
import tensorflow as tf


class BookGradCam:
    """Listing 9.x: Grad-CAM with a last-conv-layer model and a classifier model.

    Args:
        model: the classifier (e.g. Xception with its top).
        last_conv_layer_name: e.g. ``"block14_sepconv2_act"``.
        classifier_layer_names: the layers after it, e.g. ``["avg_pool", "predictions"]``.
    """

    def __init__(self, model, last_conv_layer_name, classifier_layer_names):
        last_conv_layer = model.get_layer(last_conv_layer_name)
        self.last_conv_layer_model = keras.Model(model.inputs, last_conv_layer.output)
        classifier_input = keras.Input(shape=last_conv_layer.output.shape[1:])
        x = classifier_input
        for layer_name in classifier_layer_names:
            x = model.get_layer(layer_name)(x)
        self.classifier_model = keras.Model(classifier_input, x)

    def __call__(self, img_array):
        """float32 (1, H, W, 3) preprocessed image -> float (h, w) heatmap in [0, 1]."""
        with tf.GradientTape() as tape:
            last_conv_layer_output = self.last_conv_layer_model(img_array)
            tape.watch(last_conv_layer_output)
            preds = self.classifier_model(last_conv_layer_output)
            top_pred_index = tf.argmax(preds[0])
            top_class_channel = preds[:, top_pred_index]
        grads = tape.gradient(top_class_channel, last_conv_layer_output)
        pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2)).numpy()
        last_conv_layer_output = last_conv_layer_output.numpy()[0]
        for i in range(pooled_grads.shape[-1]):
            last_conv_layer_output[:, :, i] *= pooled_grads[i]
        heatmap = np.mean(last_conv_layer_output, axis=-1)
        heatmap = np.maximum(heatmap, 0)
        heatmap /= np.max(heatmap)
        return heatmap


class BookFilterPatterns:
    """Listings 9.x: one filter at a time, a traced step called from a Python loop.

    Args:
        feature_extractor: model from the input to one layer's output.
        img_size: (width, height) of the start image, 200 x 200 in the book.
        eager: True runs the step without ``tf.function`` (pure eager).
    """

    def __init__(self, feature_extractor, img_size=(200, 200), eager=False):
        self.feature_extractor = feature_extractor
        self.img_width, self.img_height = img_size
        step = self._gradient_ascent_step
        self.gradient_ascent_step = step if eager else tf.function(step)

    def compute_loss(self, image, filter_index):
        activation = self.feature_extractor(image)
        filter_activation = activation[:, 2:-2, 2:-2, filter_index]
        return tf.reduce_mean(filter_activation)

    def _gradient_ascent_step(self, image, filter_index, learning_rate):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = self.compute_loss(image, filter_index)
        grads = tape.gradient(loss, image)
        grads = tf.math.l2_normalize(grads)
        image += learning_rate * grads
        return image

    def generate_filter_pattern(self, filter_index, iterations=30, learning_rate=10.0):
        """float32 (H, W, 3) pattern for ``filter_index``."""
        image = tf.random.uniform(minval=0.4, maxval=0.6, shape=(1, self.img_width, self.img_height, 3))
        for _ in range(iterations):
            image = self.gradient_ascent_step(image, filter_index, learning_rate)
        return image[0].numpy()
