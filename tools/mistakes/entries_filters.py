"""Typical mistakes in Lab 3, part 2 (interpretation.py): filter_loss, gradient_ascent_step, generate_filter_pattern, deprocess_image.

Sources: DLwP 2nd ed. listings 9.16-9.20 and the companion notebook (its
generate_filter_pattern draws shape (1, img_width, img_height, 3); its
deprocess_image crops a fixed 25 pixels); the first edition and the old
Keras example ``conv_filter_visualization.py`` (gradients divided by their
RMS, deprocess with std 0.1 around 0.5); keras-io
``visualizing_what_convnets_learn``; ``tf.random.uniform(seed=...)``
changing from call to call (TensorFlow's random-seed guide).
"""

from tools.mistakes.catalogue import Mistake, edited
from tools.mistakes.probes import rng_image

OLD_KERAS = "the first edition / old Keras conv_filter_visualization.py example"


def _loss(body):
    return "def filter_loss(feature_extractor, image, filter_index):\n" + body


STEP = '''def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    image = tf.convert_to_tensor(image, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = filter_loss(feature_extractor, image, filter_index)
    grads = tape.gradient(loss, image)
    grads = tf.math.l2_normalize(grads)
    return image + learning_rate * grads
'''

PATTERN = '''def generate_filter_pattern(
    feature_extractor, filter_index, iterations=30, learning_rate=10.0, image=None, img_size=(200, 200), seed=None
):
    if image is None:
        image = np.random.default_rng(seed).uniform(0.4, 0.6, size=(1, img_size[0], img_size[1], 3))
    image = tf.convert_to_tensor(_as_batch(image))
    for _ in range(iterations):
        image = gradient_ascent_step(feature_extractor, image, filter_index, learning_rate)
    return np.asarray(image, dtype="float32")[0]
'''

DEPROCESS = '''def deprocess_image(image, crop=25):
    image = np.array(image, dtype="float64").reshape(np.shape(image)[-3:])
    image -= image.mean()
    std = image.std()
    if std > 0:
        image /= std
    image = np.clip(image * 64 + 128, 0, 255).astype("uint8")
    h, w = image.shape[:2]
    return image[crop : h - crop, crop : w - crop]
'''


def _pattern_probe(module):
    """generate_filter_pattern from an (H, W, 3) start image on a small fully convolutional extractor."""
    import keras  # noqa: PLC0415 - TensorFlow is slow to import; only this probe needs it

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(None, None, 3))
    extractor = keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs))
    return module.generate_filter_pattern(extractor, 1, iterations=2, learning_rate=1.0, image=rng_image((9, 9, 3), 0, 0.4, 0.6))


MISTAKES = (
    # -- filter_loss --------------------------------------------------------------------------
    Mistake(
        "fl_no_border_crop", "filter_loss", "averages the whole feature map, border included",
        _loss("    activation = feature_extractor(image)\n    return tf.reduce_mean(activation[:, :, :, filter_index])\n"),
        (r"border|2:-2|crop", r"\byou|whole|includ|entire|all pixels|without (the )?crop|not crop|uncropped"),
        "the first edition's loss (K.mean(layer_output[:, :, :, filter_index])) had no crop",
    ),
    Mistake(
        "fl_predict_numpy", "filter_loss", "computes the activation with .predict() and the mean with numpy (no gradient flows)",
        _loss("    activation = feature_extractor.predict(image, verbose=0)\n"
              "    return np.mean(activation[:, 2:-2, 2:-2, filter_index])\n"),
        (r"gradient", r"predict|numpy"),
        "predict() is how chapters 5-8 run a model",
    ),
    Mistake(
        "fl_numpy_of_tensor", "filter_loss", "converts the activation to numpy before averaging (no gradient flows)",
        _loss("    activation = feature_extractor(image).numpy()\n"
              "    return np.mean(activation[:, 2:-2, 2:-2, filter_index])\n"),
        (r"gradient", r"numpy|\.numpy\(\)"),
        "numpy feels safer for a mean; the tape cannot see through it",
    ),
    Mistake(
        "fl_all_channels", "filter_loss", "averages every channel instead of channel filter_index",
        _loss("    activation = feature_extractor(image)\n    return tf.reduce_mean(activation[:, 2:-2, 2:-2, :])\n"),
        (r"filter_index", r"only|one channel|single|every channel|all channels"),
        "the layer's mean activation instead of one filter's",
    ),
    Mistake(
        "fl_crop_one_side", "filter_loss", "crops the border on one side only (activation[:, 2:, 2:, ...])",
        _loss("    activation = feature_extractor(image)\n    return tf.reduce_mean(activation[:, 2:, 2:, filter_index])\n"),
        (r"one side|both sides|each side|both ends|right and bottom|\[:, 2:, 2:",),
        "a slice slip",
    ),
    Mistake(
        "fl_sum", "filter_loss", "sums the activation instead of averaging it",
        _loss("    activation = feature_extractor(image)\n    return tf.reduce_sum(activation[:, 2:-2, 2:-2, filter_index])\n"),
        (r"mean", r"sum"),
        "'total response' read as a sum; ascent still works but the value is off",
    ),
    Mistake(
        "fl_negated", "filter_loss", "returns minus the mean (a loss to minimize)",
        _loss("    activation = feature_extractor(image)\n    return -tf.reduce_mean(activation[:, 2:-2, 2:-2, filter_index])\n"),
        (r"negat|minus|sign",),
        "losses are minimized everywhere else in the book",
    ),
    Mistake(
        "fl_channels_first", "filter_loss", "indexes the filter on axis 1 (channels-first habit)",
        _loss("    activation = feature_extractor(image)\n    return tf.reduce_mean(activation[:, filter_index, 2:-2, 2:-2])\n"),
        (r"last (axis|dimension)|channels.last|axis -1|fourth axis|axis 1",),
        "PyTorch tensors are (N, C, H, W)",
    ),
    # -- gradient_ascent_step -----------------------------------------------------------------
    Mistake(
        "step_not_normalized", "gradient_ascent_step", "adds the raw gradient without normalizing it",
        edited(STEP, ("    grads = tf.math.l2_normalize(grads)\n", "")),
        (r"normali[sz]", r"L2|norm", r"raw|not normali|without|\byou|unnormali"),
        "gradient descent never normalizes",
    ),
    Mistake(
        "step_per_pixel_norm", "gradient_ascent_step", "normalizes each pixel's gradient separately (axis=-1)",
        edited(STEP, ("tf.math.l2_normalize(grads)", "tf.math.l2_normalize(grads, axis=-1)")),
        (r"each pixel|per.?pixel|axis=-1", r"global|whole|one (L2 )?norm|axis=None"),
        "the axis argument of l2_normalize is set by analogy with softmax",
    ),
    Mistake(
        "step_descends", "gradient_ascent_step", "subtracts the step (gradient descent)",
        edited(STEP, ("image + learning_rate * grads", "image - learning_rate * grads")),
        (r"against|descen|minus|subtract", r"ascent|\+"),
        "every optimizer in the book descends",
    ),
    Mistake(
        "step_no_watch", "gradient_ascent_step", "forgets tape.watch(image), so the gradient is None",
        edited(STEP, ("        tape.watch(image)\n", "")),
        (r"watch",),
        "tapes watch variables by themselves; an image tensor is no variable",
    ),
    Mistake(
        "step_learning_rate_ignored", "gradient_ascent_step", "steps by 10.0 whatever learning_rate is",
        edited(STEP, ("image + learning_rate * grads", "image + 10.0 * grads")),
        (r"learning_rate", r"ignor|hard.?cod|argument|10"),
        "the book's learning_rate = 10. is a global",
    ),
    Mistake(
        "step_rms_normalized", "gradient_ascent_step", "divides by the gradient's RMS (first edition) instead of its L2 norm",
        edited(STEP, ("tf.math.l2_normalize(grads)", "grads / (tf.sqrt(tf.reduce_mean(tf.square(grads))) + 1e-5)")),
        (r"rms|root.mean|mean of (the )?squares|sqrt\(mean|reduce_mean",),
        OLD_KERAS + ": grads /= (K.sqrt(K.mean(K.square(grads))) + 1e-5)",
    ),
    Mistake(
        "step_loss_outside_tape", "gradient_ascent_step", "computes the loss after the tape's with block (gradient None)",
        edited(STEP, ("        tape.watch(image)\n        loss = filter_loss(feature_extractor, image, filter_index)\n",
                     "        tape.watch(image)\n    loss = filter_loss(feature_extractor, image, filter_index)\n")),
        (r"inside|within|under|in the", r"tape|GradientTape|with"),
        "an indentation slip",
    ),
    Mistake(
        "step_returns_update", "gradient_ascent_step", "returns the step learning_rate * grads instead of the updated image",
        edited(STEP, ("    return image + learning_rate * grads\n", "    return learning_rate * grads\n")),
        (
            r"return",
            r"image ?\+|updated image|new image|add (it|the step)",
            r"only the step|the step itself|instead of the (updated )?image|\byou",
        ),
        "optimizer.apply_gradients habits: the step, not the result",
    ),
    # -- generate_filter_pattern ----------------------------------------------------------------
    Mistake(
        "pat_fixed_iterations", "generate_filter_pattern", "always runs 30 steps",
        edited(PATTERN, ("for _ in range(iterations):", "for _ in range(30):")),
        (r"iterations", r"ran 30|always 30|ignor|\byou"),
        "the book's iterations = 30 is a local constant",
    ),
    Mistake(
        "pat_keeps_batch_axis", "generate_filter_pattern", "returns the (1, H, W, 3) batch",
        edited(PATTERN, ('np.asarray(image, dtype="float32")[0]', 'np.asarray(image, dtype="float32")')),
        (r"batch axis|\[0\]",),
        "the book returns image[0].numpy(); the [0] is lost",
    ),
    Mistake(
        "pat_seed_ignored", "generate_filter_pattern", "draws the start image without the seed",
        edited(PATTERN, ("np.random.default_rng(seed)", "np.random.default_rng()")),
        (r"seed", r"same seed|ignor|\byou"),
        "the seed argument is forgotten",
    ),
    Mistake(
        "pat_tf_uniform_seed", "generate_filter_pattern", "draws the start with tf.random.uniform(seed=seed), not repeatable",
        edited(PATTERN, ("        image = np.random.default_rng(seed).uniform(0.4, 0.6, size=(1, img_size[0], img_size[1], 3))\n",
                        "        image = tf.random.uniform((1, img_size[0], img_size[1], 3), 0.4, 0.6, seed=seed)\n")),
        (r"seed", r"stateless|default_rng|changes|call to call|same seed"),
        "the book draws with tf.random.uniform; its op-level seed does not repeat across calls",
    ),
    Mistake(
        "pat_uniform_0_1", "generate_filter_pattern", "starts from uniform noise in [0, 1)",
        edited(PATTERN, ("np.random.default_rng(seed).uniform(0.4, 0.6, size=", "np.random.default_rng(seed).random(")),
        (r"0\.4", r"0\.6", r"got|\byou|\[0, 1\)|from 0\.0"),
        "random() is the default noise",
    ),
    Mistake(
        "pat_image_ignored", "generate_filter_pattern", "always starts from noise, ignoring the image argument",
        edited(PATTERN, ("    if image is None:\n        image =", "    image =")),
        (r"image", r"start|given|argument", r"ignor|\byou|got|instead"),
        "the optional start image is forgotten",
    ),
    Mistake(
        "pat_size_swapped", "generate_filter_pattern", "draws the start as (1, width, height, 3)",
        edited(PATTERN, ("size=(1, img_size[0], img_size[1], 3)", "size=(1, img_size[1], img_size[0], 3)")),
        (r"height|img_size", r"width|swap|first|order"),
        "the notebook writes shape=(1, img_width, img_height, 3)",
    ),
    Mistake(
        "pat_float64_start", "generate_filter_pattern", "returns the float64 start image when no step runs",
        edited(PATTERN, ("    image = tf.convert_to_tensor(_as_batch(image))\n", ""),
              ('np.asarray(image, dtype="float32")[0]', "np.asarray(image)[0]")),
        (r"float32", r"float64"),
        "numpy draws float64; the steps cast to float32, so it shows only with iterations=0",
    ),
    Mistake(
        "pat_learning_rate_ignored", "generate_filter_pattern", "calls the step with 10.0 instead of learning_rate",
        edited(PATTERN, ("filter_index, learning_rate)", "filter_index, 10.0)")),
        (r"learning_rate", r"ignor|hard.?cod|instead|\byou"),
        "the book's learning_rate = 10. is a local constant",
    ),
    Mistake(
        "pat_unbatched_start", "generate_filter_pattern", "uses a given (H, W, 3) start image without adding the batch axis",
        edited(PATTERN, ("tf.convert_to_tensor(_as_batch(image))", "tf.convert_to_tensor(image, dtype=tf.float32)")),
        (r"\(H, W, 3\)|batch axis|3-D", r"add|accept|expand"),
        "the noise start is batched already; a user's start image is not",
        edge="a start image of shape (H, W, 3)",
        probe=_pattern_probe,
    ),
    # -- deprocess_image -------------------------------------------------------------------------
    Mistake(
        "dep_no_crop", "deprocess_image", "never crops the border",
        edited(DEPROCESS, ("    h, w = image.shape[:2]\n    return image[crop : h - crop, crop : w - crop]\n", "    return image\n")),
        (r"crop", r"missing|no crop|never|not crop|\byou|uncropped|same shape|keeps"),
        "the crop is on the book's last line",
    ),
    Mistake(
        "dep_zero_std_nan", "deprocess_image", "divides by the std without a guard (a constant image becomes NaN, then 0)",
        edited(DEPROCESS, ("    if std > 0:\n        image /= std\n", "    image /= std\n")),
        (r"std (is )?0|zero|constant", r"128", r"nan|0 ?/ ?0|divid|got"),
        "the book's deprocess_image has no guard",
    ),
    Mistake(
        "dep_no_centering", "deprocess_image", "divides by the std without subtracting the mean first",
        edited(DEPROCESS, ("    image -= image.mean()\n", "")),
        (r"mean|cent(er|re)", r"subtract|missing|without|forg|no "),
        "the four in-place lines of the book lose their first",
    ),
    Mistake(
        "dep_no_clip", "deprocess_image", "converts to uint8 without clipping to 0..255 (values wrap around)",
        edited(DEPROCESS, ("np.clip(image * 64 + 128, 0, 255)", "(image * 64 + 128)")),
        (r"clip", r"wrap|overflow|missing|without|never|not clip|no clip|forg"),
        "astype('uint8') is believed to saturate",
    ),
    Mistake(
        "dep_crop_zero_empty", "deprocess_image", "crops with image[crop:-crop, crop:-crop], which is empty for crop=0",
        edited(DEPROCESS, ("    h, w = image.shape[:2]\n    return image[crop : h - crop, crop : w - crop]\n",
                          "    return image[crop:-crop, crop:-crop, :]\n")),
        (r"crop ?= ?0|crop is 0|crop of 0|no crop", r"empty|-0|:-crop|nothing"),
        "the book's image[25:-25, 25:-25, :] with the 25 replaced by the argument",
        edge="crop=0",
        probe=lambda m: m.deprocess_image(rng_image((6, 7, 3), seed=1), crop=0),
    ),
    Mistake(
        "dep_fixed_crop_25", "deprocess_image", "always crops 25 pixels, whatever crop says",
        edited(DEPROCESS, ("    return image[crop : h - crop, crop : w - crop]\n", "    return image[25:-25, 25:-25, :]\n")),
        (r"crop", r"ignor|hard.?cod|always|\byou|argument"),
        "the notebook's deprocess_image(image) crops image[25:-25, 25:-25, :]",
    ),
    Mistake(
        "dep_old_keras_scaling", "deprocess_image", "scales as the old Keras example: std 0.1 around 0.5, clip to [0, 1], times 255",
        edited(DEPROCESS, ("    image = np.clip(image * 64 + 128, 0, 255).astype(\"uint8\")\n",
                          "    image = np.clip(image * 0.1 + 0.5, 0, 1)\n    image = (image * 255).astype(\"uint8\")\n")),
        (r"64", r"0\.1|25\.5|old keras|instead of|0\.5"),
        OLD_KERAS + ": x *= 0.1; x += 0.5; np.clip(x, 0, 1); x *= 255",
    ),
    Mistake(
        "dep_per_channel", "deprocess_image", "standardizes each color channel separately",
        edited(DEPROCESS, ("    image -= image.mean()\n    std = image.std()\n    if std > 0:\n        image /= std\n",
                          "    image -= image.mean(axis=(0, 1))\n    std = image.std(axis=(0, 1))\n"
                          "    image /= np.where(std > 0, std, 1)\n")),
        (r"per.?channel|each (color )?channel", r"whole image|all channels|global|one mean|over the image"),
        "per-channel normalization is how images are preprocessed for models",
    ),
    Mistake(
        "dep_float_result", "deprocess_image", "returns the clipped floats without converting to uint8",
        edited(DEPROCESS, ('np.clip(image * 64 + 128, 0, 255).astype("uint8")', "np.clip(image * 64 + 128, 0, 255)")),
        (r"uint8", r"float64|float32|got float"),
        "matplotlib shows floats in 0..255 badly but without an error",
    ),
    Mistake(
        "dep_batched_input", "deprocess_image", "crops the first two axes, which for a (1, H, W, 3) pattern are the batch and the height",
        edited(DEPROCESS, ('np.array(image, dtype="float64").reshape(np.shape(image)[-3:])', 'np.array(image, dtype="float64")')),
        (r"\(1, H, W, 3\)|batch axis|4-D", r"\byou|crop\w* the batch|first two|empty|got"),
        "generate_filter_pattern's image[0] is forgotten upstream; the contract accepts (1, H, W, 3)",
        edge="an image of shape (1, H, W, 3)",
        probe=lambda m: m.deprocess_image(rng_image((1, 10, 12, 3), seed=3), crop=2),
    ),
    Mistake(
        "dep_uint8_before_clip", "deprocess_image", "converts to uint8 before clipping (values have wrapped already)",
        edited(DEPROCESS, ('np.clip(image * 64 + 128, 0, 255).astype("uint8")', 'np.clip((image * 64 + 128).astype("uint8"), 0, 255)')),
        (r"clip", r"uint8|astype", r"wrap|overflow|already|after (the )?(cast|conversion|astype)|\byou"),
        "the order of clip and astype looks irrelevant",
    ),
)

