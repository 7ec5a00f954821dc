"""What excites a filter in real images: the patches of the example (and uploaded) images where it responds most.

As Distill's "Feature Visualization" puts dataset examples beside each
optimized pattern: for each filter, the places in a few images where its
output is highest, each cut out with the filter's receptive field (the
input pixels that position sees). No exercise code is needed: it is one
forward pass of the model cut at the layer.
"""

import dataclasses

import numpy as np

from cvlab_ch9.layers import class_name

#: Layers that grow the receptive field like a convolution of their kernel and stride.
_CONVOLUTIONS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D")
_POOLINGS = ("MaxPooling2D", "AveragePooling2D")
#: Patches kept per filter, and the most taken from one image (so one image does not fill the row).
PATCHES = 4
PER_IMAGE = 2
TILE = 96


@dataclasses.dataclass(frozen=True)
class Field:
    """Receptive field of a layer's output position in input pixels: ``size`` pixels square, ``jump`` apart."""

    size: int
    jump: int


def _inbound_layers(layer):
    """The layers whose outputs ``layer`` takes (Keras 3 has no public graph API)."""
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        return []
    return [tensor._keras_history.operation for tensor in nodes[0].input_tensors]


def receptive_field(model, layer_name):
    """The :class:`Field` of ``layer_name``'s outputs, walking the graph back to the input (branches: the largest).

    Convolutions and poolings grow it by (kernel - 1) * dilation * jump and
    multiply the jump by their stride; every other layer keeps it.
    """
    known = {}

    def field(layer):
        if layer.name in known:
            return known[layer.name]
        inputs = [field(parent) for parent in _inbound_layers(layer) if parent is not layer]
        size = max((f.size for f in inputs), default=1)
        jump = max((f.jump for f in inputs), default=1)
        kind = class_name(layer)
        if kind in _CONVOLUTIONS or kind in _POOLINGS:
            kernel = layer.kernel_size if kind in _CONVOLUTIONS else layer.pool_size
            dilation = getattr(layer, "dilation_rate", (1, 1))
            size += (int(kernel[0]) - 1) * int(dilation[0]) * jump
            jump *= int(layer.strides[0])
        known[layer.name] = Field(size, jump)
        return known[layer.name]

    return field(model.get_layer(layer_name))


@dataclasses.dataclass(frozen=True)
class Patch:
    """One place where a filter responds: ``picture`` (uint8 TILE x TILE x 3), the image's ``name`` and the ``value``."""

    picture: np.ndarray
    name: str
    value: float


def _peaks(response, per_image, spacing):
    """(value, y, x) of up to ``per_image`` highest positions of an (h, w) response, at least ``spacing`` apart."""
    order = np.argsort(response, axis=None)[::-1]
    peaks = []
    for flat in order:
        y, x = divmod(int(flat), response.shape[1])
        if all(max(abs(y - py), abs(x - px)) >= spacing for _, py, px in peaks):
            peaks.append((float(response[y, x]), y, x))
            if len(peaks) == per_image:
                break
    return peaks


def _cut(picture, center, side):
    """The square of ``side`` pixels around ``center`` = (y, x) of a uint8 (H, W, 3) picture, inside it, as a TILE x TILE tile."""
    from PIL import Image  # noqa: PLC0415

    height, width = picture.shape[:2]
    side = int(max(4, min(side, height, width)))
    top = int(np.clip(round(center[0] - side / 2), 0, height - side))
    left = int(np.clip(round(center[1] - side / 2), 0, width - side))
    crop = picture[top : top + side, left : left + side]
    return np.asarray(Image.fromarray(crop).resize((TILE, TILE), Image.BILINEAR))


def top_patches(responses, pictures, names, field, input_size, filters, count=PATCHES):
    """For each filter, the ``count`` patches where it responds most, over every image.

    Args:
        responses: float (N, h, w, c), the layer's output for N images.
        pictures: N uint8 (H_i, W_i, 3) pictures as shown (the model saw them resized to ``input_size``).
        names: N short names of the images.
        field: the layer's :class:`Field` in model-input pixels.
        input_size: (H, W) of the model's input.
        filters: channel indices.

    Returns:
        {filter: [Patch, ...]} strongest first.
    """
    responses = np.asarray(responses, dtype="float64")
    _, h, w, _ = responses.shape
    spacing = max(1, field.size // (2 * max(1, field.jump)))
    found = {}
    for k in filters:
        candidates = []
        for index, response in enumerate(responses[..., k]):
            candidates += [(value, index, y, x) for value, y, x in _peaks(response, PER_IMAGE, spacing)]
        candidates.sort(key=lambda c: -c[0])
        patches = []
        for value, index, y, x in candidates[:count]:
            picture = pictures[index]
            scale_y, scale_x = picture.shape[0] / input_size[0], picture.shape[1] / input_size[1]
            center = ((y + 0.5) * input_size[0] / h * scale_y, (x + 0.5) * input_size[1] / w * scale_x)
            patches.append(Patch(_cut(picture, center, field.size * min(scale_y, scale_x)), names[index], value))
        found[k] = patches
    return found
