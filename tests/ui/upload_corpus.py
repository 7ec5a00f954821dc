"""A corpus of bad and unusual image files, written by the tests themselves.

Each :class:`Case` is a kind of file people really upload. A *bad* case
carries the start or a telling part of the project's sentence for it
(``message``); a *good* one the upright RGB picture the model must see
(``expected``). The good pictures are four flat colour quadrants, so a
turned or mirrored result is easy to tell from an upright one, even after
JPEG or WebP compression.
"""

import dataclasses
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

#: (height, width) of the upright pictures: landscape, so a turned one is portrait.
HEIGHT, WIDTH = 64, 96
TOP_LEFT, TOP_RIGHT = (220, 30, 30), (30, 170, 40)
BOTTOM_LEFT, BOTTOM_RIGHT = (40, 50, 220), (235, 215, 40)
WHITE = (255, 255, 255)
#: EXIF tag 0x0112 (Orientation); 6 = "turn 90 degrees clockwise to show".
ORIENTATION_TAG, ROTATED_90 = 0x0112, 6


def quadrants(top_left=TOP_LEFT, top_right=TOP_RIGHT, bottom_left=BOTTOM_LEFT, bottom_right=BOTTOM_RIGHT):
    """uint8 (HEIGHT, WIDTH, 3): four flat colour quadrants."""
    picture = np.empty((HEIGHT, WIDTH, 3), "uint8")
    h, w = HEIGHT // 2, WIDTH // 2
    picture[:h, :w], picture[:h, w:] = top_left, top_right
    picture[h:, :w], picture[h:, w:] = bottom_left, bottom_right
    return picture


def quadrant_means(picture):
    """float (4, 3): mean colour of the middle of each quadrant (top left, top right, bottom left, bottom right)."""
    picture = np.asarray(picture, dtype="float64")
    h, w = picture.shape[0] // 2, picture.shape[1] // 2
    dh, dw = max(1, h // 4), max(1, w // 4)  # stay clear of the borders, where compression blurs
    corners = [(0, 0), (0, w), (h, 0), (h, w)]
    return np.array([picture[r + dh : r + h - dh, c + dw : c + w - dw].reshape(-1, 3).mean(axis=0) for r, c in corners])


def assert_looks_like(picture, expected, tolerance=20.0):
    """``picture`` has ``expected``'s shape and, quadrant by quadrant, its colours (within ``tolerance`` per channel)."""
    picture, expected = np.asarray(picture), np.asarray(expected)
    assert picture.shape == expected.shape, f"shape {picture.shape}, expected {expected.shape}"
    difference = np.abs(quadrant_means(picture) - quadrant_means(expected)).max()
    assert difference <= tolerance, f"quadrant colours differ by up to {difference:.0f}"


def png_bytes(width, height, rows=None, bit_depth=8, colour_type=2):
    """A PNG file written chunk by chunk (Pillow writes no 16-bit RGB and no huge header without the pixels).

    Args:
        rows: the filtered scanlines (each starts with filter byte 0); None
            gives a few zero bytes: a header for a huge picture, hardly any data.
        colour_type: 0 gray, 2 RGB, 4 gray + alpha, 6 RGBA.
    """

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    data = zlib.compress(rows if rows is not None else b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def _gray8():
    """uint8 (HEIGHT, WIDTH): the quadrants in gray, as Pillow's "L" conversion gives."""
    return np.asarray(Image.fromarray(quadrants()).convert("L"))


def _gray_as_rgb(gray):
    return np.repeat(np.asarray(gray)[..., None], 3, axis=2)


# -- writers -----------------------------------------------------------------------------------------


def _noisy():
    """The quadrants with noise: files that compress badly, so a cut lands in the picture data."""
    rng = np.random.default_rng(0)
    return Image.fromarray(np.clip(quadrants().astype(int) + rng.integers(-20, 20, (HEIGHT, WIDTH, 3)), 0, 255).astype("uint8"))


def _cut(path, image, file_format, keep):
    """Save ``image`` and keep only the first ``keep`` bytes (an int) or that share of the file (a float)."""
    image.save(path, file_format)
    data = path.read_bytes()
    path.write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])


def _rotated_jpeg(path):
    upright = Image.fromarray(quadrants())
    # stored turned a quarter to the left, with the tag that says "turn right to show"
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = ROTATED_90
    stored.save(path, "JPEG", quality=95, exif=exif)
    with Image.open(path) as check:
        assert check.size == (HEIGHT, WIDTH) and ImageOps.exif_transpose(check).size == (WIDTH, HEIGHT)


def _cmyk_jpeg(path):
    Image.fromarray(quadrants()).convert("CMYK").save(path, "JPEG", quality=95)


def _palette_png(path, transparent_top_left=False):
    image = Image.fromarray(quadrants()).quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    if transparent_top_left:
        index = image.getpixel((0, 0))
        image.save(path, "PNG", transparency=index)
    else:
        image.save(path, "PNG")


def _gray16_png(path):
    Image.fromarray(_gray8().astype("uint16") * 257).save(path, "PNG")  # mode I;16
    with Image.open(path) as check:
        assert check.mode.startswith("I"), check.mode


def _rgb16_png(path):
    values = quadrants().astype(">u2") * 257
    rows = b"".join(b"\0" + row.tobytes() for row in values)
    path.write_bytes(png_bytes(WIDTH, HEIGHT, rows, bit_depth=16, colour_type=2))


def _gray_alpha_png(path):
    alpha = np.full((HEIGHT, WIDTH), 255, "uint8")
    alpha[: HEIGHT // 2, : WIDTH // 2] = 0
    Image.fromarray(np.dstack([_gray8(), alpha]), mode="LA").save(path, "PNG")


def _animated_gif(path):
    frames = [Image.fromarray(quadrants()), Image.new("RGB", (WIDTH, HEIGHT), BOTTOM_LEFT)]
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    with Image.open(path) as check:
        assert check.n_frames == 2


def _gray_alpha_expected():
    picture = _gray_as_rgb(_gray8()).copy()
    picture[: HEIGHT // 2, : WIDTH // 2] = WHITE  # transparent: composited over white
    return picture


def _metadata_bomb_png(path):
    """A small, valid PNG with a text chunk that inflates to 5 MB (Pillow reads at most 1 MB of it)."""
    rows = b"".join(b"\0" + quadrants()[r].tobytes() for r in range(HEIGHT))
    plain = png_bytes(WIDTH, HEIGHT, rows)
    text = b"Comment\0\0" + zlib.compress(b"a" * 5_000_000)
    chunk = struct.pack(">I", len(text)) + b"zTXt" + text + struct.pack(">I", zlib.crc32(b"zTXt" + text))
    path.write_bytes(plain[:33] + chunk + plain[33:])  # after the 8-byte signature and the IHDR chunk


def _heic(path):
    # how a real HEIC photo starts (ISO base media "ftyp" box, brand heic), then data
    path.write_bytes(struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0" + b"mif1heic" + bytes(range(256)) * 4)


def _svg(path):
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}">'
        '<rect width="100%" height="100%" fill="red"/></svg>\n'
    )


# -- the corpus --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One file: ``message`` (a part of the project's sentence) for a bad one, ``expected`` for a good one.

    ``ui_only``: the file is a fine image for :func:`cvlab_ch9.imaging.read_image`;
    only the UI refuses it (too small to look at).
    """

    id: str
    filename: str
    write: Callable[[Path], None]
    message: str = ""
    expected: Callable[[], np.ndarray] | None = None
    ui_only: bool = False


CASES = (
    Case("zero-bytes", "empty.png", lambda p: p.write_bytes(b""), message="empty.png is empty (0 bytes)"),
    Case("truncated-png", "cut.png", lambda p: _cut(p, _noisy(), "PNG", 2000),
         message="cut.png starts like a PNG file but its picture data is damaged or cut off"),
    Case("truncated-jpeg", "cut.jpg", lambda p: _cut(p, _noisy(), "JPEG", 0.5),
         message="cut.jpg starts like a JPEG file but its picture data is damaged or cut off"),
    Case("jpeg-cut-in-header", "header.jpg", lambda p: _cut(p, _noisy(), "JPEG", 120), message="header.jpg is damaged or cut off"),
    Case("text-named-jpg", "notes.jpg", lambda p: p.write_text("Shopping list: milk, eggs.\n"),
         message="notes.jpg is not a picture this lab can read; use a JPEG, PNG"),
    Case("heic", "IMG_0001.heic", _heic,
         message="IMG_0001.heic is in the HEIC format, which this lab cannot decode; convert it to a JPEG, PNG"),
    Case("svg", "drawing.svg", _svg, message="drawing.svg is in the SVG format, which this lab cannot decode; convert it to a JPEG, PNG"),
    Case("pdf", "scan.pdf", lambda p: p.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
         message="scan.pdf is in the PDF format"),
    Case("decompression-bomb", "bomb.png", lambda p: p.write_bytes(png_bytes(40_000, 40_000)),
         message="bomb.png has more pixels than the 50 megapixels this lab accepts"),
    Case("metadata-bomb-png", "comment.png", _metadata_bomb_png,
         message="comment.png could not be opened: its header is damaged or holds more metadata than this lab reads"),
    Case("over-50-megapixels", "big.png", lambda p: p.write_bytes(png_bytes(9_000, 7_000)),
         message="big.png is 9000x7000 pixels (63.0 megapixels), more than the 50 megapixels"),
    Case("one-pixel", "dot.png", lambda p: Image.new("RGB", (1, 1)).save(p), message="The image is only 1x1 pixels", ui_only=True),
    Case("exif-rotated-jpeg", "phone.jpg", _rotated_jpeg, expected=quadrants),
    Case("cmyk-jpeg", "print.jpg", _cmyk_jpeg, expected=quadrants),
    Case("palette-png", "palette.png", _palette_png, expected=quadrants),
    Case("palette-transparent-png", "palette_clear.png", lambda p: _palette_png(p, True), expected=lambda: quadrants(top_left=WHITE)),
    Case("16-bit-gray-png", "gray16.png", _gray16_png, expected=lambda: _gray_as_rgb(_gray8())),
    Case("16-bit-rgb-png", "rgb16.png", _rgb16_png, expected=quadrants),
    Case("gray-alpha-png", "gray_alpha.png", _gray_alpha_png, expected=_gray_alpha_expected),
    Case("animated-gif", "animated.gif", _animated_gif, expected=quadrants),
)


BAD = tuple(c for c in CASES if c.message)
GOOD = tuple(c for c in CASES if c.expected is not None)


def write_corpus(directory):
    """Write every case's file into ``directory``; returns {case id: Path}."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for case in CASES:
        path = directory / case.filename
        case.write(path)
        paths[case.id] = path
    return paths
