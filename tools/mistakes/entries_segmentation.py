"""Typical mistakes in Lab 1 (segmentation.py): trimaps, the strided encoder, the transposed decoder, the model, mean IoU.

Sources: DLwP 2nd ed. listing 9.1-9.5 and its companion notebook
``chapter09_part01_image-segmentation.ipynb``; keras-io
``oxford_pets_image_segmentation`` (a U-Net that pools and upsamples);
``tf.keras.metrics.MeanIoU``; what students bring from classification
models (pooling, padding left out) and from Dice losses (smoothing terms).

A data module (one record per mistake), hence over 400 lines.
"""

import numpy as np

from tools.mistakes.catalogue import Mistake

BOOK = "DLwP 2nd ed. listing 9.2 (get_model) and its companion notebook"
CLASSIFIER_HABIT = "the chapter 8 classifiers downsample with MaxPooling2D; students carry the habit over"
#: a hint about padding says it is missing, not only what the recipe is
MISSING_PADDING = r"\b(missing|without|no|add|forg|default|valid)\W.{0,40}padding|padding\W{1,4}(is |defaults? to \W?)?(missing|valid)"
PADDING = "Conv2D's default is padding='valid'; the book writes padding='same' on every layer and students drop it"


def _stage(first, second):
    """An encoder body: ``for f in filters: first; second`` (the two Conv2D lines as written)."""
    return f"""
def strided_downsampling(x, filters=(64, 128, 256)):
    for f in filters:
        x = {first}
        x = {second}
    return x
"""


def _decoder(first, second):
    return f"""
def conv_transpose_decoder(x, filters=(256, 128, 64)):
    for f in filters:
        x = {first}
        x = {second}
    return x
"""


def _model(body):
    return "def build_segmentation_model(img_size=(200, 200), num_classes=3, filters=(64, 128, 256)):\n" + body


CONV_S2 = 'layers.Conv2D(f, 3, strides=2, activation="relu", padding="same")(x)'
CONV_S1 = 'layers.Conv2D(f, 3, activation="relu", padding="same")(x)'
TCONV_S1 = 'layers.Conv2DTranspose(f, 3, activation="relu", padding="same")(x)'
TCONV_S2 = 'layers.Conv2DTranspose(f, 3, strides=2, activation="relu", padding="same")(x)'

MODEL_TAIL = """    x = layers.Rescaling(1.0 / 255)(inputs)
    x = strided_downsampling(x, filters)
    x = conv_transpose_decoder(x, tuple(reversed(filters)))
    outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")(x)
    return keras.Model(inputs, outputs)
"""
MODEL_INPUT = "    inputs = keras.Input(shape=img_size + (3,))\n"

TRIMAP_CHECK = """    trimap = np.asarray(trimap)
    unexpected = np.setdiff1d(np.unique(trimap), TRIMAP_VALUES)
    if unexpected.size:
        raise ValueError(f"unexpected trimap values {unexpected.tolist()}")
"""


def _trimap(body):
    return "def trimap_to_classes(trimap):\n" + body


def _iou(body):
    return "def mean_iou(y_true, y_pred, num_classes):\n" + body


IOU_PREP = """    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred)
    if y_pred.shape[-1] == num_classes and y_pred.size == y_true.size * num_classes:
        y_pred = y_pred.argmax(axis=-1)
    y_pred = y_pred.reshape(-1)
"""

MISTAKES = (
    # -- trimap_to_classes ------------------------------------------------------------------
    Mistake(
        "trimap_no_minus_one", "trimap_to_classes", "returns the trimap values 1, 2, 3 unchanged as labels",
        _trimap(TRIMAP_CHECK + '    return trimap.astype("uint8")\n'),
        (r"-\s?1|minus one|subtract", r"unchanged|as it is|\byou"),
        "listing 9.1 does `input_targets[i] = ... - 1`; students copy only the loading part",
    ),
    Mistake(
        "trimap_swapped_classes", "trimap_to_classes", "maps background to 0 and pet to 1 (thinks of background as 'nothing')",
        _trimap(TRIMAP_CHECK + "    lookup = np.array([0, 1, 0, 2], dtype=\"uint8\")  # 1 pet -> 1, 2 background -> 0\n"
                "    return lookup[trimap]\n"),
        (r"swap|exchang|the other way|pet.{0,30}\b0\b",),
        "binary-mask habit: background is class 0 in most tutorials, but the trimap's 1 is the pet",
    ),
    Mistake(
        "trimap_float_labels", "trimap_to_classes", "returns float labels (converted to float before subtracting)",
        _trimap(TRIMAP_CHECK + '    return trimap.astype("float32") - 1\n'),
        (r"uint8", r"float"),
        "keras-io's loader does img_to_array (float32) on the masks; the contract asks for uint8",
    ),
    Mistake(
        "trimap_keeps_input_dtype", "trimap_to_classes", "returns trimap - 1 in the input's dtype (int64 for an int64 trimap)",
        _trimap(TRIMAP_CHECK + "    return trimap - 1\n"),
        (r"uint8", r"int64|int32|input'?s dtype|dtype of the input"),
        "uint8 trimaps from PNG files hide it; a trimap built with np.array([...]) is int64",
        edge="a trimap of dtype int64 (not uint8)",
        probe=lambda m: m.trimap_to_classes(np.array([[1, 2], [3, 1]])),
    ),
    Mistake(
        "trimap_no_value_check", "trimap_to_classes", "never checks the values: 4 or 0 become labels silently",
        _trimap('    return (np.asarray(trimap) - 1).astype("uint8")\n'),
        (r"ValueError", r"return\w* labels|did not raise|never raise|no (check|error)|instead of raising|\byou"),
        "the book never validates masks; the contract asks for a ValueError",
    ),
    Mistake(
        "trimap_message_without_values", "trimap_to_classes", "raises ValueError with a fixed message, not the values it found",
        _trimap("    trimap = np.asarray(trimap)\n    if not np.isin(trimap, (1, 2, 3)).all():\n"
                "        raise ValueError(\"a trimap may only contain 1, 2 and 3\")\n"
                '    return (trimap - 1).astype("uint8")\n'),
        (r"(name|list|show|say|include)\w*.{0,30}(value|found)|which value", r"it said|your message|\byou"),
        "students write the rule, not what they found; the contract asks the message to name the values",
    ),
    Mistake(
        "trimap_checks_only_max", "trimap_to_classes", "rejects values above 3 only; a 0 becomes label 255",
        _trimap("    trimap = np.asarray(trimap)\n    if trimap.max() > 3:\n"
                "        raise ValueError(f\"trimap values must be 1, 2 or 3; found {trimap.max()}\")\n"
                '    return (trimap - 1).astype("uint8")\n'),
        (r"\b0\b", r"ValueError|raise|reject", r"below 1|less than 1|under 1|lower bound|only.{0,30}(above|max|upper|> ?3)"),
        "only the upper bound comes to mind; 0 - 1 wraps to 255 in uint8",
        edge="a trimap value below 1 (0)",
        probe=lambda m: m.trimap_to_classes(np.array([[0, 1], [2, 3]], dtype="uint8")),
    ),
    Mistake(
        "trimap_requires_all_values", "trimap_to_classes", "raises unless all three values 1, 2, 3 occur",
        _trimap("    trimap = np.asarray(trimap)\n    found = sorted(np.unique(trimap).tolist())\n"
                "    if found != [1, 2, 3]:\n"
                "        raise ValueError(f\"a trimap holds the values 1, 2 and 3; found {found}\")\n"
                '    return (trimap - 1).astype("uint8")\n'),
        (r"only (some|one|two)|subset|not all|need not|all three|fewer",),
        "checking equality with {1, 2, 3} instead of inclusion; a crop of a trimap may hold one value",
        edge="a trimap that holds one of the values only",
        probe=lambda m: m.trimap_to_classes(np.full((3, 4), 2, dtype="uint8")),
    ),
    Mistake(
        "trimap_dict_keyerror", "trimap_to_classes", "maps with a dict lookup, so an unknown value raises KeyError",
        _trimap("    lookup = {1: 0, 2: 1, 3: 2}\n    trimap = np.asarray(trimap)\n"
                '    return np.vectorize(lambda v: lookup[v], otypes=["uint8"])(trimap)\n'),
        (r"KeyError", r"ValueError"),
        "a dict is the obvious mapping; its KeyError is not the ValueError the contract asks for",
    ),
    Mistake(
        "trimap_flattened", "trimap_to_classes", "builds the labels in a list comprehension and returns them flat",
        _trimap(TRIMAP_CHECK + '    return np.array([v - 1 for v in trimap.flatten()], dtype="uint8")\n'),
        (r"shape", r"flat|1-D|got \("),
        "looping over pixels flattens the array; the reshape is forgotten",
    ),
    # -- strided_downsampling -----------------------------------------------------------------
    Mistake(
        "enc_maxpooling", "strided_downsampling", "downsamples with MaxPooling2D after two stride-1 convolutions",
        _stage(CONV_S1, CONV_S1 + "\n        x = layers.MaxPooling2D(2)(x)"),
        (r"MaxPooling2D|pooling", r"strides=2", r"\byou|uses MaxPooling|found|instead"),
        CLASSIFIER_HABIT + "; the book: 'we downsample by adding strides to every other convolution layer'",
    ),
    Mistake(
        "enc_stride_on_second", "strided_downsampling", "puts strides=2 on the second Conv2D of each stage",
        _stage(CONV_S1, CONV_S2),
        (r"second", r"first"),
        "the book's listing alternates the two lines; students swap which one carries the stride",
    ),
    Mistake(
        "enc_strided_conv_valid", "strided_downsampling", "leaves out padding='same' on the strided Conv2D",
        _stage('layers.Conv2D(f, 3, strides=2, activation="relu")(x)', CONV_S1),
        (r"padding=.?same", r"strided|first", MISSING_PADDING),
        PADDING,
    ),
    Mistake(
        "enc_second_conv_valid", "strided_downsampling", "leaves out padding='same' on the stride-1 Conv2D",
        _stage(CONV_S2, 'layers.Conv2D(f, 3, activation="relu")(x)'),
        (r"padding=.?same", r"second|stride.?1|non.?strided", MISSING_PADDING),
        PADDING,
    ),
    Mistake(
        "enc_strides_on_both", "strided_downsampling", "puts strides=2 on both convolutions of a stage",
        _stage(CONV_S2, CONV_S2),
        (r"strides=2", r"both (conv|layers)|twice|every conv|only the first|on the second"),
        "'downsample with strides' read as 'every convolution is strided'",
    ),
    Mistake(
        "enc_no_relu", "strided_downsampling", "writes the convolutions without activation='relu'",
        _stage('layers.Conv2D(f, 3, strides=2, padding="same")(x)', 'layers.Conv2D(f, 3, padding="same")(x)'),
        (r"relu", r"missing|no activation|linear|without"),
        "Conv2D's default activation is linear; the keyword is easy to drop",
    ),
    Mistake(
        "enc_one_conv_per_stage", "strided_downsampling", "writes one strided Conv2D per stage, no second convolution",
        "def strided_downsampling(x, filters=(64, 128, 256)):\n    for f in filters:\n"
        f"        x = {CONV_S2}\n    return x\n",
        (r"two|second|2 conv", r"stage|each f|per filter"),
        "reading 'downsample with strided convolutions' as one layer per step",
    ),
    Mistake(
        "enc_filters_ignored", "strided_downsampling", "loops over the book's (64, 128, 256) instead of the filters argument",
        "def strided_downsampling(x, filters=(64, 128, 256)):\n    for f in (64, 128, 256):\n"
        f"        x = {CONV_S2}\n        x = {CONV_S1}\n    return x\n",
        (r"filters", r"argument|ignor|hard.?cod|given|passed"),
        "the book's listing hard-codes 64, 128, 256; the exercise takes them as an argument",
    ),
    Mistake(
        "enc_return_in_loop", "strided_downsampling", "returns inside the loop (indentation), so only the first stage is built",
        "def strided_downsampling(x, filters=(64, 128, 256)):\n    for f in filters:\n"
        f"        x = {CONV_S2}\n        x = {CONV_S1}\n        return x\n",
        (r"return", r"loop|first stage|one stage|indent"),
        "an indentation slip every course sees",
    ),
    # -- conv_transpose_decoder -------------------------------------------------------------
    Mistake(
        "dec_no_strides", "conv_transpose_decoder", "writes both Conv2DTranspose layers with stride 1",
        _decoder(TCONV_S1, TCONV_S1),
        (r"strides=2", r"missing|no |without|same resolution|does not (double|upsample)"),
        "Conv2DTranspose is believed to upsample by itself",
    ),
    Mistake(
        "dec_wrong_order", "conv_transpose_decoder", "puts the strided Conv2DTranspose first in each stage, then the stride-1 one",
        _decoder(TCONV_S2, TCONV_S1),
        (r"first", r"second|then|before|order"),
        "mirror-image reasoning: the encoder strides first, so the decoder 'must' too",
    ),
    Mistake(
        "dec_strided_valid", "conv_transpose_decoder", "leaves out padding='same' on the strided Conv2DTranspose (2n+1 outputs)",
        _decoder(TCONV_S1, 'layers.Conv2DTranspose(f, 3, strides=2, activation="relu")(x)'),
        (r"padding=.?same", r"2n ?\+ ?1|2 ?\* ?n ?\+ ?1|strided|strides=2", MISSING_PADDING),
        PADDING + "; a valid transposed convolution gives (n - 1) * 2 + 3 = 2n + 1",
    ),
    Mistake(
        "dec_stride1_valid", "conv_transpose_decoder", "leaves out padding='same' on the stride-1 Conv2DTranspose (n+2 outputs)",
        _decoder('layers.Conv2DTranspose(f, 3, activation="relu")(x)', TCONV_S2),
        (r"padding=.?same", r"n ?\+ ?2|stride.?1|first|non.?strided", MISSING_PADDING),
        PADDING,
    ),
    Mistake(
        "dec_upsampling2d", "conv_transpose_decoder", "upsamples with UpSampling2D instead of a strided Conv2DTranspose",
        _decoder(TCONV_S1, "layers.UpSampling2D(2)(x)"),
        (r"UpSampling2D", r"Conv2DTranspose"),
        "keras-io's oxford_pets_image_segmentation U-Net upsamples with UpSampling2D",
    ),
    Mistake(
        "dec_conv2d_first", "conv_transpose_decoder", "uses a plain Conv2D for the stride-1 layer of each stage",
        _decoder('layers.Conv2D(f, 3, activation="relu", padding="same")(x)', TCONV_S2),
        (r"Conv2D(?!Transpose)", r"Conv2DTranspose"),
        "a stride-1 layer 'does not need' to be transposed; same shapes, other weights",
    ),
    Mistake(
        "dec_reverses_filters", "conv_transpose_decoder", "reverses the filters inside the decoder (the model reverses them already)",
        "def conv_transpose_decoder(x, filters=(256, 128, 64)):\n    for f in reversed(filters):\n"
        f"        x = {TCONV_S1}\n        x = {TCONV_S2}\n    return x\n",
        (r"revers", r"filters"),
        "the model reverses the encoder's filters; students reverse them a second time in the decoder",
    ),
    Mistake(
        "dec_no_relu", "conv_transpose_decoder", "writes the transposed convolutions without activation='relu'",
        _decoder('layers.Conv2DTranspose(f, 3, padding="same")(x)', 'layers.Conv2DTranspose(f, 3, strides=2, padding="same")(x)'),
        (r"relu", r"missing|no activation|linear|without"),
        "the default activation is linear",
    ),
    Mistake(
        "dec_strides_on_both", "conv_transpose_decoder", "puts strides=2 on both transposed convolutions of a stage",
        _decoder(TCONV_S2, TCONV_S2),
        (r"strides=2", r"both (conv|layers)|twice|only the second|on the first"),
        "the mirror of enc_strides_on_both",
    ),
    # -- build_segmentation_model -----------------------------------------------------------
    Mistake(
        "seg_no_rescaling", "build_segmentation_model", "feeds the 0..255 pixels to the encoder without Rescaling",
        _model(MODEL_INPUT + MODEL_TAIL.replace("layers.Rescaling(1.0 / 255)(inputs)", "inputs")),
        (r"Rescaling|255", r"missing|no Rescaling|without|add Rescaling|forg"),
        "the rescaling step is on one line of listing 9.2; students load images already divided elsewhere",
    ),
    Mistake(
        "seg_sigmoid_output", "build_segmentation_model", "ends with a sigmoid instead of a per-pixel softmax",
        _model(MODEL_INPUT + MODEL_TAIL.replace('activation="softmax"', 'activation="sigmoid"')),
        (r"sigmoid", r"softmax"),
        "binary segmentation tutorials end in sigmoid",
    ),
    Mistake(
        "seg_no_final_activation", "build_segmentation_model", "ends with a linear Conv2D (logits)",
        _model(MODEL_INPUT + MODEL_TAIL.replace('activation="softmax", ', "")),
        (r"softmax", r"linear|no activation|missing|logits|without"),
        "from_logits habits from other frameworks",
    ),
    Mistake(
        "seg_decoder_not_reversed", "build_segmentation_model", "passes the encoder's filters to the decoder unreversed",
        _model(MODEL_INPUT + MODEL_TAIL.replace("tuple(reversed(filters))", "filters")),
        (r"revers", r"\byou|not reversed|unreversed|same order|as given"),
        "the reversal is implicit in the book (256, 128, 64 written out)",
    ),
    Mistake(
        "seg_final_kernel_1", "build_segmentation_model", "ends with a 1x1 Conv2D(num_classes, 1) instead of 3x3",
        _model(MODEL_INPUT + MODEL_TAIL.replace("Conv2D(num_classes, 3,", "Conv2D(num_classes, 1,")),
        (r"1\s?x\s?1|kernel(_size)?\W{0,3}1\b|size 1", r"3\s?x\s?3|\b3\b"),
        "U-Nets (keras-io's too) end with a 1x1 convolution; the book's ends with 3x3",
    ),
    Mistake(
        "seg_num_classes_hardcoded", "build_segmentation_model", "hard-codes 3 output channels",
        _model(MODEL_INPUT + MODEL_TAIL.replace("Conv2D(num_classes, 3,", "Conv2D(3, 3,")),
        (r"num_classes", r"ignor|hard.?cod|always|argument|3 channels"),
        "the pets dataset has 3 classes; the argument is forgotten",
    ),
    Mistake(
        "seg_img_size_hardcoded", "build_segmentation_model", "builds the Input with the book's (200, 200, 3) whatever img_size is",
        _model("    inputs = keras.Input(shape=(200, 200, 3))\n" + MODEL_TAIL),
        (r"img_size", r"got \(None, 200|always|ignor|hard.?cod"),
        "listing 9.2 hard-codes img_size = (200, 200)",
    ),
    Mistake(
        "seg_square_input", "build_segmentation_model", "builds a square Input from img_size[0] twice",
        _model("    inputs = keras.Input(shape=(img_size[0], img_size[0], 3))\n" + MODEL_TAIL),
        (r"img_size", r"width|non.?square|square|img_size\[1\]", r"got|\byou|instead"),
        "the book's images are square; (H, H, 3) goes unnoticed until a non-square size",
        edge="a non-square img_size",
        probe=lambda m: tuple(m.build_segmentation_model(img_size=(16, 24), filters=(2, 4)).outputs[0].shape),
    ),
    Mistake(
        "seg_rescaling_minus_one", "build_segmentation_model", "rescales the pixels to [-1, 1] (Rescaling(1/127.5, offset=-1))",
        _model(MODEL_INPUT + MODEL_TAIL.replace("layers.Rescaling(1.0 / 255)(inputs)",
                                                "layers.Rescaling(1.0 / 127.5, offset=-1)(inputs)")),
        (r"offset|-1|\[-1, 1\]", r"1\.?0? ?/ ?255|0\.\.1|\[0, 1\]"),
        "the Xception/MobileNet preprocessing maps to [-1, 1]",
    ),
    Mistake(
        "seg_filters_ignored", "build_segmentation_model", "calls the encoder and decoder without passing filters",
        _model(MODEL_INPUT + MODEL_TAIL.replace("strided_downsampling(x, filters)", "strided_downsampling(x)").replace(
            "conv_transpose_decoder(x, tuple(reversed(filters)))", "conv_transpose_decoder(x)")),
        (r"filters", r"ignor|not pass|without passing|always|\byou"),
        "the helpers' defaults are the book's filters, so the default model is right",
    ),
    Mistake(
        "seg_final_conv_valid", "build_segmentation_model", "leaves out padding='same' on the final Conv2D",
        _model(MODEL_INPUT + MODEL_TAIL.replace('activation="softmax", padding="same"', 'activation="softmax"')),
        (r"padding=.?same", r"final|last|output|softmax", MISSING_PADDING),
        PADDING,
    ),
    Mistake(
        "seg_input_without_channels", "build_segmentation_model", "builds the Input from img_size alone, without the 3 color channels",
        _model("    inputs = keras.Input(shape=img_size)\n" + MODEL_TAIL),
        (r"\+ ?\(3,\)|3 channels|colou?r channels|channel axis", r"Input", r"\byou|got|missing|without|forg|ndim"),
        "keras-io writes img_size + (3,); the tuple concatenation is dropped",
    ),
    # -- mean_iou ---------------------------------------------------------------------------
    Mistake(
        "iou_pixel_accuracy", "mean_iou", "computes the share of equal pixels (pixel accuracy)",
        _iou(IOU_PREP + "    return float(np.mean(y_true == y_pred))\n"),
        (r"accuracy",),
        "accuracy is the metric from every earlier chapter",
    ),
    Mistake(
        "iou_absent_as_zero", "mean_iou", "counts a class absent from both masks as IoU 0",
        _iou(IOU_PREP + "    ious = []\n    for c in range(num_classes):\n"
             "        inter = np.sum((y_true == c) & (y_pred == c))\n"
             "        union = np.sum((y_true == c) | (y_pred == c))\n"
             "        ious.append(inter / union if union else 0.0)\n    return float(np.mean(ious))\n"),
        (r"absent|non-empty|neither|empty union|union is (0|zero|empty)", r"skip|leave out|only over|do not count|don't count"),
        "guarding the 0 / 0 with 0 feels safe; MeanIoU skips those classes",
    ),
    Mistake(
        "iou_smoothing_term", "mean_iou", "adds a smoothing term (inter + 1) / (union + 1), so an absent class scores 1",
        _iou(IOU_PREP + "    ious = []\n    for c in range(num_classes):\n"
             "        inter = np.sum((y_true == c) & (y_pred == c))\n"
             "        union = np.sum((y_true == c) | (y_pred == c))\n"
             "        ious.append((inter + 1.0) / (union + 1.0))\n    return float(np.mean(ious))\n"),
        (r"smooth|epsilon|\+ ?1|count(s|ed)? as 1|\b1\.0\b", r"absent|neither|non-empty|empty"),
        "Dice/IoU loss functions from segmentation tutorials add a smoothing constant",
    ),
    Mistake(
        "iou_nan_for_absent", "mean_iou", "divides by a zero union for absent classes, so the mean is NaN",
        _iou(IOU_PREP + "    ious = []\n    for c in range(num_classes):\n"
             "        inter = np.sum((y_true == c) & (y_pred == c))\n"
             "        union = np.sum((y_true == c) | (y_pred == c))\n"
             "        ious.append(inter / union)\n    return float(np.mean(ious))\n"),
        (r"nan|0 ?/ ?0|zero union|divid", r"absent|neither|non-empty|skip"),
        "the textbook formula without its guard",
    ),
    Mistake(
        "iou_no_argmax", "mean_iou", "takes channel 0 of the scores instead of their argmax",
        _iou("    y_true = np.asarray(y_true).reshape(-1)\n    y_pred = np.asarray(y_pred)\n"
             "    if y_pred.shape[-1] == num_classes and y_pred.size == y_true.size * num_classes:\n"
             "        y_pred = y_pred[..., 0]\n    y_pred = y_pred.reshape(-1)\n"
             "    ious = []\n    for c in range(num_classes):\n"
             "        union = np.sum((y_true == c) | (y_pred == c))\n"
             "        if union:\n            ious.append(np.sum((y_true == c) & (y_pred == c)) / union)\n"
             "    return float(np.mean(ious))\n"),
        (r"argmax", r"scores|probabilit|last axis", r"channel 0|\[\.\.\., 0\]|first (score|channel)|\byou"),
        "scores are 'squeezed' like a trailing channel axis",
    ),
    Mistake(
        "iou_always_argmax", "mean_iou", "takes the argmax of y_pred even when it already holds labels",
        _iou("    y_true = np.asarray(y_true).reshape(-1)\n    y_pred = np.argmax(np.asarray(y_pred), axis=-1).reshape(-1)\n"
             "    ious = []\n    for c in range(num_classes):\n"
             "        union = np.sum((y_true == c) | (y_pred == c))\n"
             "        if union:\n            ious.append(np.sum((y_true == c) & (y_pred == c)) / union)\n"
             "    return float(np.mean(ious))\n"),
        (r"argmax", r"labels", r"already|even (when|for) labels|\byou"),
        "the model's output is scores, so argmax is written unconditionally",
    ),
    Mistake(
        "iou_trailing_axis_broadcast", "mean_iou", "keeps y_true's (N, H, W, 1) shape, which broadcasts against (N, H, W) labels",
        _iou("    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)\n"
             "    if y_pred.shape[-1] == num_classes and y_pred.ndim == 4:\n        y_pred = y_pred.argmax(axis=-1)\n"
             "    ious = []\n    for c in range(num_classes):\n"
             "        union = np.sum((y_true == c) | (y_pred == c))\n"
             "        if union:\n            ious.append(np.sum((y_true == c) & (y_pred == c)) / union)\n"
             "    return float(np.mean(ious))\n"),
        (r"\(N, H, W, 1\)|trailing|last axis|channel axis|squeeze|reshape|flatten", r"broadcast"),
        "the book's masks are loaded as (H, W, 1) (listing 9.1's img_to_array)",
    ),
    Mistake(
        "iou_dice", "mean_iou", "computes the Dice coefficient 2|A&B| / (|A| + |B|)",
        _iou(IOU_PREP + "    scores = []\n    for c in range(num_classes):\n"
             "        t, p = y_true == c, y_pred == c\n        total = t.sum() + p.sum()\n"
             "        if total:\n            scores.append(2 * np.sum(t & p) / total)\n"
             "    return float(np.mean(scores))\n"),
        (r"dice|f1|2 ?\*|twice",),
        "Dice and IoU are taught side by side; the formulas get mixed",
    ),
    Mistake(
        "iou_three_classes", "mean_iou", "loops over the pets' three classes instead of range(num_classes)",
        _iou(IOU_PREP + "    ious = []\n    for c in (0, 1, 2):  # pet, background, contour\n"
             "        union = np.sum((y_true == c) | (y_pred == c))\n"
             "        if union:\n            ious.append(np.sum((y_true == c) & (y_pred == c)) / union)\n"
             "    return float(np.mean(ious))\n"),
        (r"num_classes", r"range|hard.?cod|ignor|every class|all classes|only (the first )?3"),
        "the lab's dataset has three classes",
        edge="num_classes other than 3, with the extra classes present",
        probe=lambda m: m.mean_iou(np.array([[0, 3, 4, 4]]), np.array([[0, 3, 3, 4]]), 5),
    ),
    Mistake(
        "iou_classes_from_y_true", "mean_iou", "averages over the classes found in y_true, missing classes only predicted",
        _iou(IOU_PREP + "    ious = []\n    for c in np.unique(y_true):\n"
             "        union = np.sum((y_true == c) | (y_pred == c))\n"
             "        ious.append(np.sum((y_true == c) & (y_pred == c)) / union)\n"
             "    return float(np.mean(ious))\n"),
        (r"predict|y_pred", r"only|absent from y_true|not in y_true|missing|y_true alone"),
        "np.unique(y_true) 'finds the classes'; a class predicted but absent from y_true has IoU 0 and counts",
        edge="a class that occurs only in y_pred",
        probe=lambda m: m.mean_iou(np.array([[0, 0, 1, 1]]), np.array([[0, 2, 1, 1]]), 3),
    ),
)

