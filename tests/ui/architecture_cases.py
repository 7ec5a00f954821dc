"""Student code the architecture tests share: a residual block that pools its shortcut instead of projecting it."""

#: ``residual_block`` whose pooled shortcut goes through MaxPooling2D and a 1x1 Conv2D (the chapter: one strided 1x1 Conv2D).
NO_PROJECTION = '''
def residual_block(x, filters, pooling=False):
    residual = x
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    if pooling:
        x = layers.MaxPooling2D(2, padding="same")(x)
        residual = layers.MaxPooling2D(2, padding="same")(residual)
        residual = layers.Conv2D(filters, 1)(residual)
    elif filters != residual.shape[-1]:
        residual = layers.Conv2D(filters, 1)(residual)
    return layers.add([x, residual])
'''


def no_projection_block():
    """:data:`NO_PROJECTION` as a function."""
    from keras import layers  # noqa: PLC0415 - TensorFlow only where a test builds models

    namespace = {"layers": layers}
    exec(NO_PROJECTION, namespace)  # the test's own source, run as a lab module runs it
    return namespace["residual_block"]
