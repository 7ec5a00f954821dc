"""Typical mistakes in Lab 2 (architecture.py): residual blocks, conv-BN-ReLU, separable counts, the mini-Xception.

Sources: DLwP 2nd ed. section 9.3 (listings 9.6-9.10) and the companion
notebook ``chapter09_part02_modern-convnet-architecture-patterns.ipynb``,
whose mini-Xception differs from the printed one (BN -> SeparableConv2D ->
relu, every layer with a bias); ResNet v1 habits (relu after the add);
keras.applications.Xception; parameter-count exercises in courses.

A data module (one record per mistake), hence over 400 lines.
"""

from tools.mistakes.catalogue import Mistake
from tools.mistakes.probes import block_output_shape

NOTEBOOK = "the companion notebook's mini-Xception (post-activation, biases everywhere) differs from the printed book"
RESNET_V1 = "ResNet v1 (and many blog posts) apply relu after the addition"


def _residual(main, shortcut, tail="    return layers.add([x, residual])\n"):
    return "def residual_block(x, filters, pooling=False):\n    residual = x\n" + main + shortcut + tail


RES_MAIN = ('    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)\n'
            '    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)\n')
RES_SHORTCUT = ("    if pooling:\n"
                '        x = layers.MaxPooling2D(2, padding="same")(x)\n'
                "        residual = layers.Conv2D(filters, 1, strides=2)(residual)\n"
                "    elif filters != residual.shape[-1]:\n"
                "        residual = layers.Conv2D(filters, 1)(residual)\n")


def _cbr(body):
    return "def conv_bn_relu(x, filters, kernel_size=3):\n" + body


def _params(regular, separable, prefix=""):
    return (prefix + "def separable_conv_params(in_channels, out_channels, kernel_size=3):\n"
            f"    regular = {regular}\n    separable = {separable}\n    return regular, separable\n")


K2_IN_OUT = "kernel_size * kernel_size * in_channels * out_channels"
K2_IN_PLUS = "kernel_size * kernel_size * in_channels + in_channels * out_channels"

XC_HALF = ("    x = layers.BatchNormalization()(x)\n"
           '    x = layers.Activation("relu")(x)\n'
           '    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)\n')
XC_POOL = '    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)\n'
XC_SHORTCUT = '    residual = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(residual)\n'
XC_ADD = "    return layers.add([x, residual])\n"


def _xception(body):
    return "def xception_block(x, filters):\n    residual = x\n" + body


MX_HEAD = ("def build_mini_xception(input_shape=(180, 180, 3), num_classes=1, block_filters=(32, 64, 128, 256, 512), "
           "augment=True):\n")
MX_INPUT = "    inputs = keras.Input(shape=input_shape)\n    x = inputs\n"
MX_AUGMENT = ("    if augment:\n        x = layers.RandomFlip(\"horizontal\")(x)\n"
              "        x = layers.RandomRotation(0.1)(x)\n        x = layers.RandomZoom(0.2)(x)\n")
MX_STEM = "    x = layers.Rescaling(1.0 / 255)(x)\n    x = layers.Conv2D(32, 5, use_bias=False)(x)\n"
MX_BLOCKS = "    for filters in block_filters:\n        x = xception_block(x, filters)\n"
MX_POOL = "    x = layers.GlobalAveragePooling2D()(x)\n    x = layers.Dropout(0.5)(x)\n"
MX_OUT = ("    if num_classes == 1:\n        outputs = layers.Dense(1, activation=\"sigmoid\")(x)\n"
          "    else:\n        outputs = layers.Dense(num_classes, activation=\"softmax\")(x)\n"
          "    return keras.Model(inputs, outputs)\n")


def _mini(input_=MX_INPUT, augment=MX_AUGMENT, stem=MX_STEM, blocks=MX_BLOCKS, pool=MX_POOL, out=MX_OUT):
    return MX_HEAD + input_ + augment + stem + blocks + pool + out


MISTAKES = (
    # -- residual_block -----------------------------------------------------------------------
    Mistake(
        "res_relu_after_add", "residual_block", "applies relu after adding the shortcut",
        _residual(RES_MAIN, RES_SHORTCUT, "    x = layers.add([x, residual])\n    return layers.Activation(\"relu\")(x)\n"),
        (r"relu|activation", r"after", r"add|sum"),
        RESNET_V1,
    ),
    Mistake(
        "res_no_projection", "residual_block", "never projects the shortcut when the channels differ",
        _residual(RES_MAIN, "    if pooling:\n        x = layers.MaxPooling2D(2, padding=\"same\")(x)\n"
                  "        residual = layers.Conv2D(filters, 1, strides=2)(residual)\n"),
        (r"Conv2D\(filters, 1\)|1\s?x\s?1|project", r"channel", r"\byou|never|missing|has \d+ channels"),
        "the book shows the two cases in separate listings (9.6, 9.7); the channel case is dropped",
    ),
    Mistake(
        "res_shortcut_not_strided", "residual_block", "projects the shortcut with Conv2D(filters, 1) without strides=2 when pooling",
        _residual(RES_MAIN, RES_SHORTCUT.replace("Conv2D(filters, 1, strides=2)", "Conv2D(filters, 1)")),
        (r"strides=2", r"shortcut|residual", r"missing|\byou|without"),
        "the pooling changes the main path's size; the shortcut's stride is forgotten",
    ),
    Mistake(
        "res_no_pooling", "residual_block", "projects the shortcut with strides=2 but never pools the main path",
        _residual(RES_MAIN, RES_SHORTCUT.replace('        x = layers.MaxPooling2D(2, padding="same")(x)\n', "")),
        (r"MaxPooling2D|pooling", r"missing|without|forg|never"),
        "the pooling line sits between the two shortcut lines of listing 9.7",
    ),
    Mistake(
        "res_pool_valid", "residual_block", "pools with MaxPooling2D(2) without padding='same'",
        _residual(RES_MAIN, RES_SHORTCUT.replace('MaxPooling2D(2, padding="same")', "MaxPooling2D(2)")),
        (r"padding=.?same", r"MaxPooling2D|pool", r"valid|missing|without|default|odd|round"),
        "MaxPooling2D(2) is how chapter 8 pools; odd sizes then round down while the strided 1x1 rounds up",
    ),
    Mistake(
        "res_no_add", "residual_block", "builds the shortcut but returns the main path alone",
        _residual(RES_MAIN, RES_SHORTCUT, "    return x\n"),
        (r"only|never|not added|without|missing|forg", r"shortcut|residual|add"),
        "the add line is the last one and gets lost",
    ),
    Mistake(
        "res_always_projected", "residual_block", "projects the shortcut with Conv2D(filters, 1) even when the channels match",
        _residual(RES_MAIN, RES_SHORTCUT.replace("    elif filters != residual.shape[-1]:\n", "    else:\n")),
        (r"identity|x itself|no projection|only when|match", r"channel"),
        "'always project' is simpler to write",
    ),
    Mistake(
        "res_shortcut_after_first_conv", "residual_block", "takes the shortcut after the first convolution",
        "def residual_block(x, filters, pooling=False):\n"
        '    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)\n    residual = x\n'
        '    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)\n' + RES_SHORTCUT + XC_ADD,
        (r"shortcut|residual", r"after the first|first conv|conv\w*.{0,20}output"),
        "listings 9.6 and 9.7 take `residual = x` after an earlier Conv2D outside the block",
    ),
    Mistake(
        "res_concatenate", "residual_block", "concatenates the shortcut instead of adding it",
        _residual(RES_MAIN, RES_SHORTCUT, "    return layers.concatenate([x, residual])\n"),
        (r"concatenat", r"add"),
        "DenseNet/U-Net skip connections concatenate",
    ),
    Mistake(
        "res_projection_3x3", "residual_block", "projects the shortcut with a 3x3 convolution",
        _residual(RES_MAIN, RES_SHORTCUT.replace("Conv2D(filters, 1, strides=2)", 'Conv2D(filters, 3, strides=2, padding="same")')
                  .replace("Conv2D(filters, 1)(residual)", 'Conv2D(filters, 3, padding="same")(residual)')),
        (r"3\s?x\s?3|kernel(_size)?\W{0,3}3|size 3", r"shortcut|residual|projection", r"\byou|your (shortcut|projection)|instead|not 1"),
        "every other convolution of the block is 3x3",
    ),
    Mistake(
        "res_strided_conv_not_pool", "residual_block", "downsamples the main path with a strided Conv2D instead of MaxPooling2D",
        "def residual_block(x, filters, pooling=False):\n    residual = x\n"
        '    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)\n'
        '    x = layers.Conv2D(filters, 3, strides=2 if pooling else 1, activation="relu", padding="same")(x)\n'
        "    if pooling:\n        residual = layers.Conv2D(filters, 1, strides=2)(residual)\n"
        "    elif filters != residual.shape[-1]:\n        residual = layers.Conv2D(filters, 1)(residual)\n" + XC_ADD,
        (r"MaxPooling2D", r"strided|strides=2", r"\byou|instead|strided Conv2D"),
        "Lab 1 downsamples with strides; the residual block of 9.3 pools",
    ),
    Mistake(
        "res_projection_relu", "residual_block", "gives the shortcut projection activation='relu'",
        _residual(RES_MAIN, RES_SHORTCUT.replace("Conv2D(filters, 1, strides=2)", 'Conv2D(filters, 1, strides=2, activation="relu")')
                  .replace("Conv2D(filters, 1)(residual)", 'Conv2D(filters, 1, activation="relu")(residual)')),
        (r"shortcut|residual|projection", r"relu|activation", r"linear|no activation|without (an )?activation|\byou"),
        "copying the main path's Conv2D line for the shortcut",
    ),
    Mistake(
        "res_pooling_projects_only_new_channels", "residual_block",
        "with pooling=True projects the shortcut only when the channels differ",
        _residual(RES_MAIN, "    if pooling:\n        x = layers.MaxPooling2D(2, padding=\"same\")(x)\n"
                  "    if filters != residual.shape[-1]:\n"
                  "        residual = layers.Conv2D(filters, 1, strides=2 if pooling else 1)(residual)\n"),
        (
            r"pooling",
            r"strides=2|downsampl|project",
            r"even when|also when|equal channels|same number of channels|channels (already )?match",
        ),
        "merging the two cases into one `if` over the channels",
        edge="pooling=True with filters equal to the input's channels",
        probe=lambda m: block_output_shape(m.residual_block, (8, 8, 4), filters=4, pooling=True),
    ),
    # -- conv_bn_relu -------------------------------------------------------------------------
    Mistake(
        "cbr_bn_after_relu", "conv_bn_relu", "applies relu before BatchNormalization",
        _cbr('    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)(x)\n'
             '    x = layers.Activation("relu")(x)\n    return layers.BatchNormalization()(x)\n'),
        (r"BatchNormalization|\bBN\b", r"after (the )?(activation|relu)|relu (comes )?before|before (the )?(BatchNorm|BN)"),
        "the original BN paper is read both ways; many blog posts normalize after the activation",
    ),
    Mistake(
        "cbr_conv_bias", "conv_bn_relu", "keeps the convolution's bias before BatchNormalization",
        _cbr('    x = layers.Conv2D(filters, kernel_size, padding="same")(x)\n'
             '    x = layers.BatchNormalization()(x)\n    return layers.Activation("relu")(x)\n'),
        (r"use_bias=False", r"bias", r"\byou|bias would|has a bias|with a bias|keeps|default"),
        "use_bias defaults to True",
    ),
    Mistake(
        "cbr_relu_in_conv", "conv_bn_relu", "gives the Conv2D activation='relu' and ends with BatchNormalization",
        _cbr('    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, activation="relu")(x)\n'
             "    return layers.BatchNormalization()(x)\n"),
        (r"activation=.?relu|relu (in|inside|on) (the |your )?conv", r"Conv2D|convolution"),
        "activation='relu' on the Conv2D is the habit of chapters 5-8",
    ),
    Mistake(
        "cbr_kernel_size_ignored", "conv_bn_relu", "always uses a 3x3 kernel",
        _cbr('    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)\n'
             '    x = layers.BatchNormalization()(x)\n    return layers.Activation("relu")(x)\n'),
        (r"kernel_size", r"ignor|hard.?cod|always|argument|pass"),
        "3 is the usual kernel; the argument is forgotten",
    ),
    Mistake(
        "cbr_padding_valid", "conv_bn_relu", "leaves out padding='same'",
        _cbr("    x = layers.Conv2D(filters, kernel_size, use_bias=False)(x)\n"
             '    x = layers.BatchNormalization()(x)\n    return layers.Activation("relu")(x)\n'),
        (r"padding=.?same", r"valid|missing|without|shrink"),
        "Conv2D's default is padding='valid'",
    ),
    Mistake(
        "cbr_no_relu", "conv_bn_relu", "stops after BatchNormalization (no relu)",
        _cbr('    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)(x)\n'
             "    return layers.BatchNormalization()(x)\n"),
        (r"relu", r"missing|without|forg|no relu|no activation|never"),
        "the activation is 'removed from the conv' and not put back",
    ),
    Mistake(
        "cbr_bn_axis_1", "conv_bn_relu", "normalizes axis 1 (channels-first habit) instead of the channel axis",
        _cbr('    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)(x)\n'
             "    x = layers.BatchNormalization(axis=1)(x)\n    return layers.Activation(\"relu\")(x)\n"),
        (r"axis", r"channel|-1|last"),
        "PyTorch's BatchNorm2d normalizes dimension 1",
    ),
    # -- separable_conv_params ------------------------------------------------------------------
    Mistake(
        "sep_with_biases", "separable_conv_params", "adds the out_channels biases to both counts",
        _params(K2_IN_OUT + " + out_channels", K2_IN_PLUS + " + out_channels"),
        (r"bias", r"\+ ?out|includ|\byou|returned"),
        "model.summary() counts biases; the exercise asks for bias-free counts",
    ),
    Mistake(
        "sep_swapped", "separable_conv_params", "returns (separable, regular)",
        "def separable_conv_params(in_channels, out_channels, kernel_size=3):\n"
        f"    regular = {K2_IN_OUT}\n    separable = {K2_IN_PLUS}\n    return separable, regular\n",
        (r"swap|order|reverse",),
        "the smaller number 'comes first'",
    ),
    Mistake(
        "sep_pointwise_out_only", "separable_conv_params", "counts the pointwise part as out_channels (forgets the in factor)",
        _params(K2_IN_OUT, "kernel_size * kernel_size * in_channels + out_channels"),
        (r"pointwise|1\s?x\s?1", r"\byou|instead|only|forg"),
        "the 1x1 convolution is pictured as 'one weight per output'",
    ),
    Mistake(
        "sep_depthwise_no_square", "separable_conv_params", "counts the depthwise part as kernel_size * in_channels (no square)",
        _params(K2_IN_OUT, "kernel_size * in_channels + in_channels * out_channels"),
        (r"depthwise", r"k ?\* ?k|squar|k\s?x\s?k|kernel_size ?\* ?kernel_size", r"\byou|instead|forg|not squared"),
        "a k x k kernel written as k",
    ),
    Mistake(
        "sep_regular_no_square", "separable_conv_params", "counts the regular convolution as kernel_size * in * out (no square)",
        _params("kernel_size * in_channels * out_channels", K2_IN_PLUS),
        (r"regular", r"k ?\* ?k|squar|k\s?x\s?k|kernel_size ?\* ?kernel_size", r"\byou|instead|forg|not squared"),
        "the same slip on the regular convolution",
    ),
    Mistake(
        "sep_depthwise_per_output", "separable_conv_params", "counts one depthwise filter per output channel",
        _params(K2_IN_OUT, "kernel_size * kernel_size * out_channels + in_channels * out_channels"),
        (r"depthwise", r"per output channel|each output channel|out_channels filters|instead of in", r"\byou|instead"),
        "the depthwise step is pictured as producing the output channels",
    ),
    Mistake(
        "sep_float_counts", "separable_conv_params", "computes the square with math.pow and returns floats",
        _params("math.pow(kernel_size, 2) * in_channels * out_channels",
                "math.pow(kernel_size, 2) * in_channels + in_channels * out_channels", prefix="import math\n\n\n"),
        (r"\bint", r"float"),
        "math.pow returns a float",
    ),
    # -- xception_block -----------------------------------------------------------------------
    Mistake(
        "xc_pool_stride_3", "xception_block", "pools with MaxPooling2D(3, padding='same') without strides=2 (stride defaults to 3)",
        _xception(XC_HALF + XC_HALF + '    x = layers.MaxPooling2D(3, padding="same")(x)\n' + XC_SHORTCUT + XC_ADD),
        (r"strides=2", r"stride(s)?\W{0,4}(of |defaults? to )?3\b|ceil\(.{1,6}/ ?3\)|pool.?size"),
        "MaxPooling2D's strides default to pool_size; listing 9.10 writes strides=2 explicitly",
    ),
    Mistake(
        "xc_post_activation", "xception_block", "orders each half SeparableConv2D -> BN -> relu (post-activation)",
        _xception(('    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)\n'
                   "    x = layers.BatchNormalization()(x)\n    x = layers.Activation(\"relu\")(x)\n") * 2
                  + XC_POOL + XC_SHORTCUT + XC_ADD),
        (r"pre-?activation|before (the |each )?SeparableConv2D", r"BatchNormalization|\bBN\b"),
        "conv -> BN -> relu is the order of conv_bn_relu in the same lab",
    ),
    Mistake(
        "xc_notebook_order", "xception_block", "orders each half BN -> SeparableConv2D -> relu, as the companion notebook does",
        _xception(("    x = layers.BatchNormalization()(x)\n"
                   '    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)\n'
                   '    x = layers.Activation("relu")(x)\n') * 2 + XC_POOL + XC_SHORTCUT + XC_ADD),
        (r"relu|activation", r"before (the |each )?SeparableConv2D|between|pre-?activation"),
        NOTEBOOK,
    ),
    Mistake(
        "xc_no_shortcut", "xception_block", "returns the pooled main path without the shortcut",
        _xception(XC_HALF + XC_HALF + XC_POOL + "    return x\n"),
        (r"shortcut|residual", r"missing|no |without|forg|never"),
        "the residual lines come last and are dropped",
    ),
    Mistake(
        "xc_shortcut_bias", "xception_block", "keeps the bias of the shortcut's 1x1 convolution",
        _xception(XC_HALF + XC_HALF + XC_POOL
                  + '    residual = layers.Conv2D(filters, 1, strides=2, padding="same")(residual)\n' + XC_ADD),
        (r"use_bias=False", r"shortcut|residual|1\s?x\s?1", r"\byou|has a bias|with a bias|keeps|default"),
        NOTEBOOK,
    ),
    Mistake(
        "xc_regular_conv", "xception_block", "uses Conv2D instead of SeparableConv2D in the main path",
        _xception(XC_HALF.replace("SeparableConv2D", "Conv2D") * 2 + XC_POOL + XC_SHORTCUT + XC_ADD),
        (r"SeparableConv2D", r"Conv2D(?!Transpose)|regular", r"found|\byou|not Conv2D|instead"),
        "the point of the block (depthwise separable convolutions) is missed",
    ),
    Mistake(
        "xc_no_pooling", "xception_block", "leaves out the MaxPooling2D of the main path",
        _xception(XC_HALF + XC_HALF + XC_SHORTCUT + XC_ADD),
        (r"MaxPooling2D|pooling", r"missing|no |without|forg"),
        "the shortcut's stride is kept, the pooling line is lost",
    ),
    Mistake(
        "xc_shortcut_not_strided", "xception_block", "projects the shortcut without strides=2",
        _xception(XC_HALF + XC_HALF + XC_POOL
                  + '    residual = layers.Conv2D(filters, 1, padding="same", use_bias=False)(residual)\n' + XC_ADD),
        (r"strides=2", r"shortcut|residual", r"missing|\byou|without"),
        "the 1x1 projection is remembered from residual_block's no-pooling case",
    ),
    Mistake(
        "xc_relu_after_add", "xception_block", "applies relu after the addition",
        _xception(XC_HALF + XC_HALF + XC_POOL + XC_SHORTCUT
                  + "    x = layers.add([x, residual])\n    return layers.Activation(\"relu\")(x)\n"),
        (r"relu|activation", r"after", r"add|sum"),
        RESNET_V1,
    ),
    Mistake(
        "xc_shortcut_after_bn", "xception_block", "takes the shortcut after the first BatchNormalization and relu",
        "def xception_block(x, filters):\n    x = layers.BatchNormalization()(x)\n    x = layers.Activation(\"relu\")(x)\n"
        "    residual = x\n"
        '    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)\n' + XC_HALF + XC_POOL
        + XC_SHORTCUT + XC_ADD,
        (r"shortcut|residual", r"after (the )?(first )?(BatchNormalization|BN|relu|activation)|normali[sz]ed input"),
        "keras.applications.Xception's later blocks start with an activation; students move the shortcut with it",
    ),
    Mistake(
        "xc_sepconv_bias", "xception_block", "keeps the biases of the SeparableConv2D layers",
        _xception(XC_HALF.replace(", use_bias=False", "") * 2 + XC_POOL + XC_SHORTCUT + XC_ADD),
        (r"use_bias=False", r"SeparableConv2D", r"\byou|has a bias|have biases|with bias|keeps|default"),
        NOTEBOOK,
    ),
    Mistake(
        "xc_pool_valid", "xception_block", "pools with MaxPooling2D(3, strides=2) without padding='same'",
        _xception(XC_HALF + XC_HALF + "    x = layers.MaxPooling2D(3, strides=2)(x)\n" + XC_SHORTCUT + XC_ADD),
        (r"padding=.?same", r"MaxPooling2D|pool", r"valid|missing|without|shrink"),
        "padding='same' is written on the convolutions only",
    ),
    Mistake(
        "xc_projects_only_new_channels", "xception_block", "projects the shortcut only when the channel count changes",
        _xception(XC_HALF + XC_HALF + XC_POOL + "    if residual.shape[-1] != filters:\n    " + XC_SHORTCUT + XC_ADD),
        (
            r"shortcut|residual",
            r"strides=2|downsampl|project",
            r"even when|also when|equal channels|same number of channels|channels (already )?match",
        ),
        "residual_block projects only when the channels differ; xception_block always does (it also downsamples)",
        edge="filters equal to the input's channels",
        probe=lambda m: block_output_shape(m.xception_block, (8, 8, 6), filters=6),
    ),
    Mistake(
        "xc_one_batchnorm", "xception_block", "normalizes only before the first SeparableConv2D",
        _xception(XC_HALF + '    x = layers.Activation("relu")(x)\n'
                  '    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)\n'
                  + XC_POOL + XC_SHORTCUT + XC_ADD),
        (r"BatchNormalization|\bBN\b", r"only one|one BatchNormalization|found 1|second|missing"),
        "the second BatchNormalization looks redundant",
    ),
    # -- build_mini_xception ------------------------------------------------------------------
    Mistake(
        "mx_dense2_softmax", "build_mini_xception", "ends with Dense(2, softmax) for the binary default",
        _mini(out="    outputs = layers.Dense(max(num_classes, 2), activation=\"softmax\")(x)\n"
                  "    return keras.Model(inputs, outputs)\n"),
        (r"Dense\(1|sigmoid", r"Dense\(2|two units|2 units|1,026"),
        "two-class softmax is the other common binary head",
    ),
    Mistake(
        "mx_first_conv_bias", "build_mini_xception", "keeps the bias of the first Conv2D(32, 5)",
        _mini(stem="    x = layers.Rescaling(1.0 / 255)(x)\n    x = layers.Conv2D(32, 5)(x)\n"),
        (r"use_bias=False|bias", r"first|Conv2D\(32, 5", r"has a bias|with a bias|\byou|keeps"),
        NOTEBOOK,
    ),
    Mistake(
        "mx_no_augmentation", "build_mini_xception", "never adds the augmentation layers",
        _mini(augment=""),
        (r"augment|Random", r"missing|no |without|never"),
        "augmentation is often done in the dataset pipeline instead",
    ),
    Mistake(
        "mx_always_augments", "build_mini_xception", "adds the augmentation layers whatever augment says",
        _mini(augment=MX_AUGMENT.replace("    if augment:\n", "    if True:\n")),
        (r"augment=False", r"must not|ignor|always|even"),
        "the flag is forgotten",
    ),
    Mistake(
        "mx_dropout_rate", "build_mini_xception", "uses Dropout(0.2)",
        _mini(pool="    x = layers.GlobalAveragePooling2D()(x)\n    x = layers.Dropout(0.2)(x)\n"),
        (r"0\.5", r"rates? \[?0\.2|Dropout\(0\.2|0\.2 instead|found rate"),
        "keras-io's image classification examples use 0.2-0.3",
    ),
    Mistake(
        "mx_no_sigmoid", "build_mini_xception", "ends with a linear Dense(1) (logits)",
        _mini(out="    if num_classes == 1:\n        outputs = layers.Dense(1)(x)\n"
                  "    else:\n        outputs = layers.Dense(num_classes, activation=\"softmax\")(x)\n"
                  "    return keras.Model(inputs, outputs)\n"),
        (r"sigmoid", r"linear|no activation|missing|logits|without"),
        "BinaryCrossentropy(from_logits=True) habits",
    ),
    Mistake(
        "mx_no_rescaling", "build_mini_xception", "leaves out Rescaling(1/255)",
        _mini(stem="    x = layers.Conv2D(32, 5, use_bias=False)(x)\n"),
        (r"Rescaling|255", r"missing|no |without|add|forg"),
        "the rescaling is done when loading the data in other examples",
    ),
    Mistake(
        "mx_flatten_head", "build_mini_xception", "flattens the last block instead of GlobalAveragePooling2D",
        _mini(pool="    x = layers.Flatten()(x)\n    x = layers.Dropout(0.5)(x)\n"),
        (r"GlobalAveragePooling2D", r"Flatten"),
        "chapter 8's convnets end with Flatten",
    ),
    Mistake(
        "mx_first_conv_3", "build_mini_xception", "starts with Conv2D(32, 3)",
        _mini(stem="    x = layers.Rescaling(1.0 / 255)(x)\n    x = layers.Conv2D(32, 3, use_bias=False)(x)\n"),
        (r"Conv2D\(32, 5|kernel\w*\W{0,3}5|5\s?x\s?5", r"3\s?x\s?3|Conv2D\(32, 3|kernel\w*\W{0,3}3"),
        "3x3 is the default size everywhere else",
    ),
    Mistake(
        "mx_num_classes_ignored", "build_mini_xception", "always ends with Dense(1, sigmoid)",
        _mini(out="    outputs = layers.Dense(1, activation=\"sigmoid\")(x)\n    return keras.Model(inputs, outputs)\n"),
        (r"num_classes", r"softmax", r"got|\byou|always|ignor"),
        "the book's model is binary (cats vs dogs)",
    ),
    Mistake(
        "mx_block_filters_ignored", "build_mini_xception", "loops over the book's sizes instead of block_filters",
        _mini(blocks="    for filters in [32, 64, 128, 256, 512]:\n        x = xception_block(x, filters)\n"),
        (r"block_filters", r"ignor|hard.?cod|argument|always|given"),
        "listing 9.10 writes `for size in [32, 64, 128, 256, 512]`",
    ),
    Mistake(
        "mx_input_shape_ignored", "build_mini_xception", "builds the Input with the book's (180, 180, 3)",
        _mini(input_="    inputs = keras.Input(shape=(180, 180, 3))\n    x = inputs\n"),
        (r"input_shape", r"ignor|hard.?cod|always|\byou"),
        "listing 9.10 hard-codes shape=(180, 180, 3)",
    ),
    Mistake(
        "mx_first_conv_same", "build_mini_xception", "gives the first Conv2D(32, 5) padding='same'",
        _mini(stem="    x = layers.Rescaling(1.0 / 255)(x)\n    x = layers.Conv2D(32, 5, padding=\"same\", use_bias=False)(x)\n"),
        (r"padding", r"first|Conv2D\(32, 5|valid"),
        "padding='same' is written everywhere else in the lab",
    ),
    Mistake(
        "mx_softmax_single_unit", "build_mini_xception", "ends with Dense(num_classes, softmax) also for one class (always 1.0)",
        _mini(out="    outputs = layers.Dense(num_classes, activation=\"softmax\")(x)\n    return keras.Model(inputs, outputs)\n"),
        (r"sigmoid", r"one unit|single unit|always 1|constant|final activation softmax|softmax over one"),
        "one code path for all class counts; softmax over one unit is constant",
    ),
    Mistake(
        "mx_notebook_blocks", "build_mini_xception", "writes the blocks inline as the companion notebook does",
        _mini(stem="    x = layers.Rescaling(1.0 / 255)(x)\n    x = layers.Conv2D(filters=32, kernel_size=5, use_bias=False)(x)\n",
              blocks="    for size in block_filters:\n        residual = x\n"
                     "        x = layers.BatchNormalization()(x)\n"
                     "        x = layers.SeparableConv2D(size, 3, padding=\"same\")(x)\n"
                     "        x = layers.Activation(\"relu\")(x)\n"
                     "        x = layers.BatchNormalization()(x)\n"
                     "        x = layers.SeparableConv2D(size, 3, padding=\"same\")(x)\n"
                     "        x = layers.Activation(\"relu\")(x)\n"
                     "        x = layers.MaxPooling2D(3, strides=2, padding=\"same\")(x)\n"
                     "        residual = layers.Conv2D(size, 1, strides=2, padding=\"same\")(residual)\n"
                     "        x = layers.add([x, residual])\n"),
        (
            r"\bbiases\b|ha(s|ve) (a )?bias|post-?activation|BN -> SeparableConv2D -> relu|"
            r"instead of (calling )?xception_block|call xception_block",
        ),
        NOTEBOOK,
    ),
)
