"""The UI's unchecked input components (cvlab_ch9.ui.inputs), the checks in the events (cvlab_ch9.ui.fields), the labs directory box
and load_input_image on the corpus of bad and unusual files. Direct calls, no server."""

import base64
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")

from cvlab_ch9.paths import REPO_ROOT  # noqa: E402
from cvlab_ch9.ui import inputs  # noqa: E402
from cvlab_ch9.ui.common import resolve_labs_dir  # noqa: E402
from cvlab_ch9.ui.fields import listing, name_list, number_between, one_of, whole_number  # noqa: E402
from cvlab_ch9.ui.images import load_input_image  # noqa: E402
from tests.labs import skeleton_labs  # noqa: E402
from tests.ui.upload_corpus import BAD, GOOD, assert_looks_like, quadrants, write_corpus  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def message_of(call):
    with pytest.raises(gr.Error) as info:
        call()
    return info.value.message


# -- cvlab_ch9.ui.fields ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(3, 3), (3.0, 3), (7.6, 8), (" 12 ", 12), ("4.4", 4), (16, 16), (1, 1)])
def test_whole_number_accepts_numbers_and_numeric_text(value, expected):
    assert whole_number(value, "Filters", 1, 16) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "nothing"), ("", "nothing"), ("many", "'many'"), (float("nan"), "nan"), (float("inf"), "inf"),
     (True, "True"), ([3], "[3]"), (0, "0"), (17, "17"), (-2.5, "-2.5")],
)
def test_whole_number_refuses_the_rest_in_one_sentence(value, shown):
    message = message_of(lambda: whole_number(value, "Filters", 1, 16))
    assert message == f"Filters must be a whole number from 1 to 16; got {shown}."


def test_number_between():
    assert number_between("0.25", "Heatmap weight (alpha)", 0.1, 1.0) == 0.25
    assert message_of(lambda: number_between(0.05, "Heatmap weight (alpha)", 0.1, 1.0)) == (
        "Heatmap weight (alpha) must be a number from 0.1 to 1; got 0.05."
    )


def test_one_of_and_listing():
    assert one_of("b", "lab", ["a", "b"]) == "b"
    assert message_of(lambda: one_of("z", "lab", ["a", "b"])) == "Unknown lab 'z'; choose one of: a, b."
    assert message_of(lambda: one_of(None, "model", ["a"])) == "No model chosen; choose one of: a."
    assert message_of(lambda: one_of(["a"], "lab", ["a"])).startswith("Unknown lab ['a']")
    names = [f"block{i}" for i in range(40)]
    assert listing(names) == ", ".join(names[:11]) + ", …, block39 (40 in all)"
    assert "x" * 38 + "…" in message_of(lambda: one_of("x" * 100, "lab", ["a"]))


def test_name_list():
    assert name_list(None) == [] and name_list("conv1") == ["conv1"] and name_list(["a", "", None, "b"]) == ["a", "b"]
    assert "Expected a list of names" in message_of(lambda: name_list(5))


# -- cvlab_ch9.ui.inputs -------------------------------------------------------------------------------------


def _frontend_config(component):
    config = component.get_config()
    return component.get_block_name(), {k: v for k, v in config.items() if k not in ("type",)}


@pytest.mark.parametrize(
    ("ours", "gradios"),
    [
        (lambda: inputs.ImageFile(label="Image", height=260, elem_id="x"),
         lambda: gr.Image(label="Image", height=260, elem_id="x", type="filepath", image_mode=None)),
        (lambda: inputs.Slider(1, 16, value=8, step=1, label="Filters"), lambda: gr.Slider(1, 16, value=8, step=1, label="Filters")),
        (lambda: inputs.Number(1, precision=0, label="Classes"), lambda: gr.Number(1, precision=0, label="Classes")),
        (lambda: inputs.Dropdown(["a", "b"], value="a", label="Layer"), lambda: gr.Dropdown(["a", "b"], value="a", label="Layer")),
        (lambda: inputs.Radio(["a", "b"], value="a", label="Start"), lambda: gr.Radio(["a", "b"], value="a", label="Start")),
    ],
    ids=["ImageFile", "Slider", "Number", "Dropdown", "Radio"],
)
def test_components_render_exactly_as_gradios_own(ours, gradios):
    # the page (front end) gets the same component type and the same properties
    with gr.Blocks():
        mine, theirs = ours(), gradios()
    assert _frontend_config(mine) == _frontend_config(theirs)


def test_values_reach_the_event_unchecked(tmp_path):
    assert inputs.Slider(1, 16).preprocess(500) == 500
    assert inputs.Number(1, precision=0, minimum=1).preprocess(2.5) == 2.5
    assert inputs.Dropdown(["a"]).preprocess("conv9") == "conv9"
    assert inputs.Radio(["a"]).preprocess("b") == "b"


def test_image_file_hands_over_the_path_undecoded(tmp_path):
    from gradio.data_classes import ImageData  # noqa: PLC0415 - only this test looks at Gradio's internals

    box = inputs.ImageFile()
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    assert box.preprocess(ImageData(path=str(text), orig_name="notes.jpg")) == str(text)
    assert box.preprocess(None) is None
    inline = "data:image/png;base64," + base64.b64encode(b"\x89PNG not really").decode()
    saved = Path(box.preprocess(ImageData(url=inline, orig_name="inline.png")))
    assert saved.read_bytes() == b"\x89PNG not really" and saved.name == "inline.png"
    message = message_of(lambda: box.preprocess(ImageData(url="data:image/png;base64,abc", orig_name="x.png")))
    assert message == "The image sent inline is not valid base64 data; upload the file instead."


# -- load_input_image on the corpus ------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.id)
def test_bad_file_is_one_sentence_without_the_folder(case, corpus):
    message = message_of(lambda: load_input_image(str(corpus[case.id])))
    assert case.message in message and str(corpus[case.id].parent) not in message


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c.id)
def test_unusual_file_is_upright_rgb(case, corpus):
    picture, note = load_input_image(str(corpus[case.id]))
    assert note == ""
    assert_looks_like(picture, case.expected())


def test_no_image_names_the_formats_that_work():
    assert message_of(lambda: load_input_image(None)).startswith("No image yet: upload a picture (JPEG, PNG, WebP")


def test_arrays_keep_working():
    picture, _ = load_input_image(quadrants().astype("float32") / 255)
    assert_looks_like(picture, quadrants())
    assert "Pass a single image, not a batch" in message_of(lambda: load_input_image(quadrants()[None]))


# -- the labs directory ------------------------------------------------------------------------------


def test_labs_directory_problems(tmp_path):
    labs = skeleton_labs(tmp_path / "labs")
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    cases = {
        str(tmp_path / "nope"): "The labs directory '{}' does not exist; type labs (your code)",
        str(tmp_path / "notes.txt"): "The labs directory '{}' is a file, not a folder; type labs",
        str(labs / "segmentation.py"): f"The labs directory '{{}}' is a file, not a folder: use the folder that holds it, '{labs}'",
        str(tmp_path / "empty"): "The labs directory '{}' holds none of the lab modules (segmentation.py, architecture.py "
        "and interpretation.py); type labs (your code), solutions (the reference) or the path of a folder holding them.",
        "bad\0name": "The labs directory 'bad\\x00name'",
    }
    for text, expected in cases.items():
        shown = text if len(text) <= 80 else text[:79] + "…"  # long typed paths are shortened (the temp folder may be long)
        assert message_of(lambda text=text: resolve_labs_dir(text)).startswith(expected.format(shown))
    assert "…" in message_of(lambda: resolve_labs_dir("/" + "x" * 300))
    assert resolve_labs_dir(f" {labs} ") == labs


# As a user who may not read the folders: root may read everything, so a root test run
# drops to "nobody" after the imports (the interpreter itself may live where nobody may not
# look, e.g. under /root), then checks the labs folder, a lab module and an image file.
_AS_ANOTHER_USER = textwrap.dedent(
    """
    import os, sys
    import gradio as gr
    from cvlab_ch9.impl import ImplementationError, load_lab
    from cvlab_ch9.imaging import ImageError, read_image
    from cvlab_ch9.ui.common import resolve_labs_dir
    uid, gid, locked, readable, photo = sys.argv[1:]
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(int(gid))
        os.setuid(int(uid))
    try:
        resolve_labs_dir(locked)
    except gr.Error as exc:
        print("FOLDER", exc.message)
    try:
        resolve_labs_dir(locked + "/inner")
    except gr.Error as exc:
        print("INSIDE", exc.message)
    print("OPEN", resolve_labs_dir(readable))
    try:
        load_lab("segmentation", readable)
    except ImplementationError as exc:
        print("MODULE", exc)
    try:
        read_image(photo, name="photo.jpg")
    except ImageError as exc:
        print("PHOTO", exc)
    """
)


def _unprivileged_ids():
    """(uid, gid) to check the unreadable files as: this process's when not root, else nobody's; skips without one."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no user 'nobody' to test unreadable folders with")
    return nobody.pw_uid, nobody.pw_gid


def test_unreadable_folder_module_and_photo_are_sentences():
    uid, gid = _unprivileged_ids()
    base = Path(tempfile.mkdtemp(prefix="cvlab-permissions-"))
    try:
        base.chmod(0o755)  # the other user must reach the folders inside
        locked = skeleton_labs(base / "locked")
        readable = skeleton_labs(base / "readable")
        photo = base / "photo.jpg"
        from PIL import Image  # noqa: PLC0415 - in the child process's setup only

        Image.fromarray(quadrants()).save(photo)
        readable.chmod(0o755)
        locked.chmod(0)
        (readable / "segmentation.py").chmod(0)
        photo.chmod(0)
        result = subprocess.run(
            [sys.executable, "-c", _AS_ANOTHER_USER, str(uid), str(gid), str(locked), str(readable), str(photo)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
        assert lines["FOLDER"].startswith(f"The labs directory '{locked}' cannot be read (permission denied): make it readable")
        assert lines["INSIDE"].startswith(f"The labs directory '{locked}/inner' cannot be read (permission denied)")
        assert lines["OPEN"] == str(readable)  # the folder itself is fine
        module = readable / "segmentation.py"
        assert lines["MODULE"] == f"{module} cannot be read (permission denied): make it readable (chmod u+r) and run again."
        assert lines["PHOTO"].startswith("photo.jpg cannot be read (Permission denied)")
    finally:
        for path in (base / "locked", base / "readable" / "segmentation.py", base / "photo.jpg"):
            if path.exists():
                path.chmod(stat.S_IRWXU)
        shutil.rmtree(base)
