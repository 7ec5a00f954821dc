"""The one recording container: what the reference side recorded, for the grader and the UI alike.

A recording (``<book>.rec``) is one file::

    b"CVLABREC\\n"
    one line of JSON, the manifest: {"format": 3, "book": "segmentation", "size": N, "sha256": "<hex>"}
    zlib-deflated payload: N bytes once inflated, whose SHA-256 is the manifest's

and the payload is a sequence of frames of the judge's data format
(:mod:`cvlab_ch9.grader.harness.wire`: an 8-byte length, a JSON header, raw
array bytes): the first frame is the index (``{"keys": [...], "meta": {...}}``),
then one frame per key, in order. Nothing in it is pickled or executed.

This module reads and writes the container only (standard library: the leak
check reads recordings inside pip's isolated build environment); the values
in the frames are encoded and decoded by :mod:`cvlab_ch9.grader.reference`.
"""

import hashlib
import json
import struct
import zlib

MAGIC = b"CVLABREC\n"
#: 3: one container for the grader's expectations and the UI's gallery (2: the grader's uncompressed .rec).
FORMAT = 3
SUFFIX = ".rec"
#: Largest inflated payload read (a full UI gallery is about 40 MB inflated).
MAX_PAYLOAD_BYTES = 1024**3
_LENGTH = struct.Struct("<Q")


class ContainerError(ValueError):
    """Bytes that are not a recording of this format (damaged, truncated, of another version); the message says which."""


def pack(book, frames):
    """The bytes of a recording of ``book`` holding ``frames`` (each a complete wire frame, bytes)."""
    payload = b"".join(frames)
    manifest = {"format": FORMAT, "book": str(book), "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    return MAGIC + json.dumps(manifest, sort_keys=True).encode("ascii") + b"\n" + zlib.compress(payload, 6)


def manifest_of(raw):
    """``(manifest dict, offset of the compressed payload)`` of a recording's bytes.

    Raises:
        ContainerError: not a recording, or of another format.
    """
    if not raw.startswith(MAGIC):
        raise ContainerError("it is not a cvlab recording (no CVLABREC header)")
    end = raw.find(b"\n", len(MAGIC))
    try:
        manifest = json.loads(raw[len(MAGIC) : end]) if end > 0 else None
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        raise ContainerError("its manifest is damaged")
    if manifest.get("format") != FORMAT:
        raise ContainerError(f"it is a recording of format {manifest.get('format')}, this version reads format {FORMAT}")
    if not isinstance(manifest.get("size"), int) or not isinstance(manifest.get("sha256"), str):
        raise ContainerError("its manifest is damaged")
    return manifest, end + 1


def unpack(raw):
    """``(manifest, list of frame bodies)`` of a recording's bytes, its payload checked against the manifest's SHA-256.

    Raises:
        ContainerError: damaged, truncated, oversized or of another format.
    """
    manifest, start = manifest_of(raw)
    if manifest["size"] > MAX_PAYLOAD_BYTES:
        raise ContainerError(f"its payload of {manifest['size']:,} bytes is larger than the {MAX_PAYLOAD_BYTES:,} allowed")
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(raw[start:], manifest["size"] + 1)
    except zlib.error:
        raise ContainerError("its payload is damaged (it does not inflate)") from None
    if len(payload) != manifest["size"] or hashlib.sha256(payload).hexdigest() != manifest["sha256"]:
        raise ContainerError("its payload is damaged (size or SHA-256 differs from the manifest)")
    return manifest, split_frames(payload)


def split_frames(payload):
    """The frame bodies (bytes after each 8-byte length) of a payload."""
    frames, offset = [], 0
    while offset < len(payload):
        if offset + _LENGTH.size > len(payload):
            raise ContainerError("its payload is damaged (a truncated frame)")
        (length,) = _LENGTH.unpack_from(payload, offset)
        offset += _LENGTH.size
        if offset + length > len(payload):
            raise ContainerError("its payload is damaged (a truncated frame)")
        frames.append(payload[offset : offset + length])
        offset += length
    return frames


def frame_header(body):
    """The JSON header (a Python value) of one frame body; the leak check reads the texts in it."""
    if len(body) < _LENGTH.size:
        raise ContainerError("a frame is truncated")
    (header_length,) = _LENGTH.unpack_from(body)
    try:
        return json.loads(body[_LENGTH.size : _LENGTH.size + header_length])
    except ValueError:
        raise ContainerError("a frame header is not JSON") from None
