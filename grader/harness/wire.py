"""The data format between the judge and the sandbox: plain values and arrays, nothing else.

A message is one frame::

    [8-byte length N][N bytes: JSON header][for each array: its raw bytes]

The JSON header holds the value, with every numpy array replaced by
``{"__array__": i, "dtype": "float32", "shape": [2, 3]}`` (the i-th
buffer) and a few tagged types (``{"__tuple__": [...]}``,
``{"__opaque__": "TypeName", "text": "..."}``). Nothing is unpickled and no
code is ever built from a message: :func:`decode` rebuilds only dicts,
lists, tuples, str, int, float, bool, None, numpy arrays and the small
record classes below, and rejects anything malformed, oversized or of an
unexpected dtype with :class:`WireError`.

This module is self-contained (standard library and numpy only): the
sandbox imports it from a private copy, without the project on its path.
"""

import hashlib
import hmac
import json
import math
import struct

import numpy as np

#: Dtypes an array may have on the wire.
ALLOWED_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"]
)
MAX_MESSAGE_BYTES = 256 * 1024**2
MAX_HEADER_BYTES = 16 * 1024**2
MAX_ARRAYS = 4096
MAX_NDIM = 8
MAX_DEPTH = 64
MAX_TEXT_CHARS = 20_000
_LENGTH = struct.Struct("<Q")


class WireError(ValueError):
    """A message that cannot be taken as data (malformed, oversized, wrong types)."""


class Opaque:
    """A value that is not plain data (a function, a layer, a generator...), named by its type.

    Attributes:
        type_name: ``type(value).__name__`` on the side that produced it.
        text: a short ``repr`` for messages.
    """

    def __init__(self, type_name, text=""):
        self.type_name = str(type_name)
        self.text = str(text)

    def __repr__(self):
        return f"<{self.type_name}>"

    def __eq__(self, other):
        return isinstance(other, Opaque) and (self.type_name, self.text) == (other.type_name, other.text)

    __hash__ = None


class Tensor:
    """An array that the receiving side turns into a ``tf.Tensor`` before calling student code.

    Attributes:
        array: the values (np.ndarray).
    """

    def __init__(self, array):
        self.array = np.asarray(array)


class ModelRef:
    """A Keras model that lives on the other side, known by its handle id and its summary.

    Attributes:
        handle: an int chosen by the side that holds the model.
        summary: the dict of ``summary.summarize(model)``.
    """

    def __init__(self, handle, summary):
        self.handle = int(handle)
        self.summary = summary


class ModelSpec:
    """A Keras model sent as data: its serialized config and its weights (judge -> sandbox).

    Attributes:
        key: identifies the model, so the receiver can build it once.
        config: ``keras.saving.serialize_keras_object(model)`` (JSON-safe dict).
        weights: list of np.ndarray, ``model.get_weights()``.
    """

    def __init__(self, key, config, weights):
        self.key = str(key)
        self.config = config
        self.weights = [np.asarray(w) for w in weights]


# -- encoding ---------------------------------------------------------------------


def _encode_value(value, arrays, depth):
    if depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply to send")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return {"__int__": str(int(value))} if abs(int(value)) >= 2**53 else int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        if array.dtype.name not in ALLOWED_DTYPES:
            return {"__opaque__": f"ndarray[{array.dtype}]", "text": f"array of dtype {array.dtype}"}
        arrays.append(array)
        return {"__array__": len(arrays) - 1, "dtype": array.dtype.name, "shape": list(array.shape)}
    if isinstance(value, Tensor):
        return {"__tensor__": _encode_value(value.array, arrays, depth + 1)}
    if isinstance(value, ModelRef):
        return {"__model__": value.handle, "summary": _encode_value(value.summary, arrays, depth + 1)}
    if isinstance(value, ModelSpec):
        return {
            "__spec__": value.key,
            "config": _encode_value(value.config, arrays, depth + 1),
            "weights": _encode_value(list(value.weights), arrays, depth + 1),
        }
    if isinstance(value, Opaque):
        return {"__opaque__": value.type_name, "text": value.text[:MAX_TEXT_CHARS]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode_value(v, arrays, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_encode_value(v, arrays, depth + 1) for v in value]
    if isinstance(value, dict):
        keys = list(value)
        if all(isinstance(k, str) for k in keys) and not any(k.startswith("__") for k in keys):
            return {k: _encode_value(value[k], arrays, depth + 1) for k in keys}
        return {"__items__": [[_encode_value(k, arrays, depth + 1), _encode_value(v, arrays, depth + 1)] for k, v in value.items()]}
    raise WireError(f"cannot send a value of type {type(value).__name__}")


def encode(value):
    """One frame (bytes) holding ``value``.

    Raises:
        WireError: ``value`` holds something that is not data (the caller
            converts such things to :class:`Opaque` first).
    """
    arrays = []
    header = json.dumps(_encode_value(value, arrays, 0), allow_nan=False, separators=(",", ":")).encode()
    header_len = _LENGTH.pack(len(header))
    parts = [header_len, header]
    for array in arrays:
        parts.append(array.tobytes())
    body = b"".join(parts)
    return _LENGTH.pack(len(body)) + body


# -- decoding -----------------------------------------------------------------------


class _Decoder:
    def __init__(self, buffers):
        self.buffers = buffers
        self.used = set()

    def value(self, node, depth=0):
        if depth > MAX_DEPTH:
            raise WireError("the message is nested too deeply")
        if node is None or isinstance(node, (bool, int, float)):
            return node
        if isinstance(node, str):
            if len(node) > MAX_TEXT_CHARS * 50:
                raise WireError("a text in the message is too long")
            return node
        if isinstance(node, list):
            return [self.value(v, depth + 1) for v in node]
        if not isinstance(node, dict):
            raise WireError(f"unexpected JSON value of type {type(node).__name__}")
        return self.tagged(node, depth)

    def tagged(self, node, depth):
        if "__array__" in node:
            return self.array(node)
        if "__tuple__" in node:
            return tuple(self.value(v, depth + 1) for v in self.list_of(node["__tuple__"]))
        if "__int__" in node:
            return int(self.text(node["__int__"]))
        if "__float__" in node:
            text = self.text(node["__float__"])
            if text not in ("nan", "inf", "-inf"):
                raise WireError("malformed special float")
            return float(text)
        if "__opaque__" in node:
            return Opaque(self.text(node["__opaque__"]), self.text(node.get("text", "")))
        if "__tensor__" in node:
            array = self.value(node["__tensor__"], depth + 1)
            if not isinstance(array, np.ndarray):
                raise WireError("a tensor must hold an array")
            return Tensor(array)
        if "__model__" in node:
            handle = node["__model__"]
            if not isinstance(handle, int) or isinstance(handle, bool):
                raise WireError("a model handle must be an int")
            summary = self.value(node.get("summary"), depth + 1)
            if not isinstance(summary, dict):
                raise WireError("a model summary must be a dict")
            return ModelRef(handle, summary)
        if "__spec__" in node:
            weights = self.value(node.get("weights", []), depth + 1)
            if not isinstance(weights, list) or not all(isinstance(w, np.ndarray) for w in weights):
                raise WireError("model weights must be a list of arrays")
            config = self.value(node.get("config"), depth + 1)
            return ModelSpec(self.text(node["__spec__"]), config, weights)
        if "__items__" in node:
            out = {}
            for pair in self.list_of(node["__items__"]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise WireError("malformed dict item")
                key = self.value(pair[0], depth + 1)
                try:
                    out[key] = self.value(pair[1], depth + 1)
                except TypeError:
                    raise WireError("a dict key is not hashable") from None
            return out
        if any(k.startswith("__") for k in node):
            raise WireError("unknown tag in the message")
        return {k: self.value(v, depth + 1) for k, v in node.items()}

    def array(self, node):
        index, dtype, shape = node.get("__array__"), node.get("dtype"), node.get("shape")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(self.buffers):
            raise WireError("array index out of range")
        if index in self.used:
            raise WireError("an array buffer is used twice")
        if dtype not in ALLOWED_DTYPES:
            raise WireError(f"arrays of dtype {dtype!r} are not accepted")
        if not isinstance(shape, list) or len(shape) > MAX_NDIM or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise WireError("malformed array shape")
        self.used.add(index)
        buffer = self.buffers[index]
        expected = math.prod(shape) * np.dtype(dtype).itemsize
        if len(buffer) != expected:
            raise WireError("array size does not match its shape")
        return np.frombuffer(buffer, dtype=dtype).reshape(shape).copy()

    @staticmethod
    def text(value):
        if not isinstance(value, str) or len(value) > MAX_TEXT_CHARS * 50:
            raise WireError("expected a text")
        return value

    @staticmethod
    def list_of(value):
        if not isinstance(value, list):
            raise WireError("expected a list")
        return value


def _array_sizes(node, out, depth=0):
    """Byte sizes of the arrays named in a JSON header, in buffer order."""
    if depth > MAX_DEPTH:
        raise WireError("the message is nested too deeply")
    if isinstance(node, list):
        for v in node:
            _array_sizes(v, out, depth + 1)
    elif isinstance(node, dict):
        if "__array__" in node:
            dtype, shape, index = node.get("dtype"), node.get("shape"), node.get("__array__")
            if dtype not in ALLOWED_DTYPES or not isinstance(shape, list) or not isinstance(index, int):
                raise WireError("malformed array entry")
            if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
                raise WireError("malformed array shape")
            out[index] = math.prod(shape) * np.dtype(dtype).itemsize
        else:
            for v in node.values():
                _array_sizes(v, out, depth + 1)


def decode_body(body):
    """The value held by one frame's body (the bytes after its 8-byte length).

    Raises:
        WireError: anything that is not a well-formed message.
    """
    if len(body) < _LENGTH.size:
        raise WireError("truncated message")
    (header_len,) = _LENGTH.unpack_from(body)
    if header_len > MAX_HEADER_BYTES or _LENGTH.size + header_len > len(body):
        raise WireError("malformed message header")
    try:
        header = json.loads(body[_LENGTH.size : _LENGTH.size + header_len])
    except (ValueError, RecursionError):
        raise WireError("the message header is not valid JSON") from None
    sizes = {}
    try:
        _array_sizes(header, sizes)
    except RecursionError:
        raise WireError("the message is nested too deeply") from None
    if len(sizes) > MAX_ARRAYS or sorted(sizes) != list(range(len(sizes))):
        raise WireError("malformed array table")
    buffers, offset = [], _LENGTH.size + header_len
    for index in range(len(sizes)):
        end = offset + sizes[index]
        if end > len(body):
            raise WireError("truncated array data")
        buffers.append(memoryview(body)[offset:end])
        offset = end
    if offset != len(body):
        raise WireError("unexpected bytes after the arrays")
    try:
        return _Decoder(buffers).value(header)
    except RecursionError:
        raise WireError("the message is nested too deeply") from None


#: Start of a signed frame (sandbox -> judge); bytes before it are skipped.
MAGIC = b"CVLB"
_TAG = 16


def _tag(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()[:_TAG]


def encode_signed(value, key):
    """A frame the judge accepts from the sandbox: magic, length, a MAC of both, the body, a MAC of it.

    Junk that student code writes into the channel (or a frame made without
    the key) fails a MAC and is skipped, so it cannot displace the real reply.
    """
    frame = encode(value)
    length, body = frame[: _LENGTH.size], frame[_LENGTH.size :]
    head = MAGIC + length
    return head + _tag(key, head) + body + _tag(key, head + body)


def find_signed_frame(buffer, key, max_bytes=MAX_MESSAGE_BYTES):
    """Look for the first complete, authentic frame in ``buffer``.

    Returns:
        ``(body or None, bytes consumed)``: body None means more data is
        needed; bytes before an authentic frame (junk, forged frames) are
        consumed and dropped.
    """
    head_size = len(MAGIC) + _LENGTH.size
    start = 0
    while True:
        index = buffer.find(MAGIC, start)
        if index < 0:
            return None, max(0, len(buffer) - len(MAGIC) + 1)
        if len(buffer) < index + head_size + _TAG:
            return None, index
        head = bytes(buffer[index : index + head_size])
        if not hmac.compare_digest(bytes(buffer[index + head_size : index + head_size + _TAG]), _tag(key, head)):
            start = index + 1
            continue
        (length,) = _LENGTH.unpack(head[len(MAGIC) :])
        if length > max_bytes:
            start = index + 1
            continue
        end = index + head_size + _TAG + length + _TAG
        if len(buffer) < end:
            return None, index
        body = bytes(buffer[index + head_size + _TAG : end - _TAG])
        if not hmac.compare_digest(bytes(buffer[end - _TAG : end]), _tag(key, head + body)):
            start = index + 1
            continue
        return body, end


def read_frame(read_exactly, max_bytes=MAX_MESSAGE_BYTES):
    """Read one frame with ``read_exactly(n) -> bytes`` and decode it.

    Raises:
        WireError: the frame is malformed or larger than ``max_bytes``.
        EOFError: the stream ended.
    """
    (length,) = _LENGTH.unpack(read_exactly(_LENGTH.size))
    if length > max_bytes:
        raise WireError(f"a message of {length:,} bytes is larger than the {max_bytes:,} allowed")
    return decode_body(read_exactly(length))
