"""cvlab_ch9.imaging.read_image on files as people really have them: the corpus of bad and unusual files."""

import errno
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from cvlab_ch9 import imaging
from cvlab_ch9.image_formats import readable_formats, readable_formats_text, sniff_format
from cvlab_ch9.imaging import ImageError, read_image
from cvlab_ch9.paths import REPO_ROOT
from tests.ui.upload_corpus import BAD, GOOD, assert_looks_like, png_bytes, quadrants, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("case", [c for c in BAD if not c.ui_only], ids=lambda c: c.id)
def test_bad_file_gets_one_sentence_naming_only_the_file(case, corpus):
    path = corpus[case.id]
    with pytest.raises(ImageError) as info:
        read_image(path, upright=True, name=path.name)
    message = str(info.value)
    assert case.message in message
    assert str(path.parent) not in message and "/" not in message
    assert message.endswith(".") and "\n" not in message


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c.id)
def test_unusual_photo_is_read_upright(case, corpus):
    picture = read_image(corpus[case.id], upright=True)
    assert picture.dtype == np.uint8 and picture.flags["C_CONTIGUOUS"]
    assert_looks_like(picture, case.expected())


def test_exif_orientation_is_applied_only_when_asked(corpus):
    # the data loader's default: the stored pixels, as keras.utils.load_img gives them
    stored = read_image(corpus["exif-rotated-jpeg"])
    assert_looks_like(stored, np.rot90(quadrants()))


def test_without_a_name_messages_show_the_last_two_path_parts(corpus):
    with pytest.raises(ImageError, match=r"^corpus\d*/notes\.jpg is not a picture"):
        read_image(corpus["text-named-jpg"])


@pytest.mark.parametrize("display_name", readable_formats())
def test_every_format_the_messages_name_is_read(display_name, tmp_path):
    path = tmp_path / f"picture.{display_name.lower()}"
    Image.fromarray(quadrants()).save(path, display_name.upper())
    assert_looks_like(read_image(path), quadrants())


def test_readable_formats_are_named_in_a_sentence():
    names = readable_formats()
    assert {"JPEG", "PNG", "GIF", "BMP"} <= set(names)
    assert readable_formats_text().endswith(f" or {names[-1]}")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "HEIC"),
        (b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic", "HEIF"),
        (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1", "AVIF"),
        (b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        (b"<?xml version='1.0'?>\n<!-- a drawing -->\n<svg/>", "SVG"),
        (b"%PDF-1.7\n", "PDF"),
        (b"<?xml version='1.0'?><html/>", None),
        (b"Shopping list", None),
        (png_bytes(8, 8)[:64], None),
    ],
)
def test_sniff_format(head, expected):
    assert sniff_format(head) == expected


def test_an_input_output_error_is_a_sentence(tmp_path, monkeypatch):
    path = tmp_path / "photo.jpg"
    Image.fromarray(quadrants()).save(path)

    def failing_open(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(imaging.Image, "open", failing_open)
    with pytest.raises(ImageError, match=r"^photo\.jpg cannot be read \(Input/output error\); make sure"):
        read_image(path, name="photo.jpg")


# A child process whose address space is capped at what it uses after the imports
# plus 150 MB: decoding the 63-megapixel picture (190 MB) or the bomb (4.8 GB) would
# fail with MemoryError there instead of the sentence.
_MEMORY_CAPPED_READ = textwrap.dedent(
    """
    import resource, sys
    from cvlab_ch9.imaging import ImageError, read_image
    with open("/proc/self/status") as status:
        used_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = (used_kb + 150 * 1024) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for path in sys.argv[1:]:
        try:
            read_image(path)
        except ImageError as exc:
            print("SENTENCE", exc)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status to cap the memory")
def test_huge_and_bomb_headers_are_refused_before_any_memory_is_used(corpus):
    paths = [str(corpus["over-50-megapixels"]), str(corpus["decompression-bomb"])]
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_CAPPED_READ, *paths],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("SENTENCE") for line in lines), result.stdout
    assert "63.0 megapixels" in lines[0] and "more pixels than the 50 megapixels" in lines[1]
