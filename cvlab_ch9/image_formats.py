"""Which image file formats work here, and what a file Pillow cannot open is.

Used by :func:`cvlab_ch9.imaging.read_image` to name the formats that work and,
for a file Pillow does not recognise, to say what it is instead (a HEIC
photo from a phone, an SVG drawing, a PDF) rather than only "not an image".
Only Pillow's own plugins are used; no other decoder is installed.
"""

from __future__ import annotations

import functools

from PIL import Image, features

__all__ = ["readable_formats", "readable_formats_text", "sniff_format"]

#: Common formats people upload, as (Pillow format id, display name), in the order messages name them.
_COMMON_FORMATS = (
    ("JPEG", "JPEG"),
    ("PNG", "PNG"),
    ("WEBP", "WebP"),
    ("AVIF", "AVIF"),
    ("GIF", "GIF"),
    ("BMP", "BMP"),
    ("TIFF", "TIFF"),
)
#: Formats whose Pillow plugin needs a codec library that a Pillow build may lack.
_CODEC_FEATURES = {"JPEG": "jpg", "PNG": "zlib", "WEBP": "webp", "AVIF": "avif"}

#: ISO base media ``ftyp`` brands (bytes 8..12 of the file) and the format they mean.
_FTYP_BRANDS = {
    b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"hevx": "HEIC",
    b"heim": "HEIC", b"heis": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF",
    b"avif": "AVIF", b"avis": "AVIF",
}
#: How many bytes of a file :func:`sniff_format` needs.
SNIFF_BYTES = 512


@functools.cache
def readable_formats() -> tuple[str, ...]:
    """Display names of the common formats this Pillow build decodes, e.g. ``("JPEG", "PNG", "WebP", ...)``."""
    Image.init()
    return tuple(
        name
        for pil_id, name in _COMMON_FORMATS
        if pil_id in Image.OPEN and (pil_id not in _CODEC_FEATURES or features.check(_CODEC_FEATURES[pil_id]))
    )


def readable_formats_text() -> str:
    """``"JPEG, PNG, WebP, AVIF, GIF, BMP or TIFF"``: the readable formats as words for a sentence."""
    names = readable_formats()
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def sniff_format(head: bytes) -> str | None:
    """What a file is, from its first :data:`SNIFF_BYTES` bytes, when it is a well-known non-Pillow format.

    Returns:
        "HEIC", "HEIF", "AVIF", "SVG" or "PDF"; None when the bytes match none of them.
    """
    if head[4:8] == b"ftyp" and head[8:12] in _FTYP_BRANDS:
        return _FTYP_BRANDS[head[8:12]]
    if head.startswith(b"%PDF"):
        return "PDF"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith((b"<?xml", b"<!doctype svg")) and b"<svg" in text):
        return "SVG"
    return None
