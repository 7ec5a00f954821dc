"""The book's ImageNet Xception: Keras' files, names, cache and hashes, fetched from a loopback
server; loading it from the cache only; the figures drawn with it."""

import inspect

import numpy as np
import pytest
from PIL import Image

from cvlab_ch9 import figures
from cvlab_ch9.models import imagenet
from cvlab_ch9.models.__main__ import main as models_main
from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.quiet import import_tensorflow
from tests.http_server import LoopbackServer, refused_url
from tests.imagenet_stand_ins import serve_stand_ins, use_stand_in_hashes


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


@pytest.fixture()
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "keras"


def _serving(stand_ins, monkeypatch):
    use_stand_in_hashes(monkeypatch, stand_ins)
    running = LoopbackServer()
    serve_stand_ins(running, stand_ins)
    return running


@pytest.fixture()
def server(small_imagenet_stand_ins, monkeypatch):
    """The loopback server with the small stand-ins (the weights file is not a model)."""
    with _serving(small_imagenet_stand_ins, monkeypatch) as running:
        yield running


@pytest.fixture()
def model_server(imagenet_stand_ins, monkeypatch):
    """The loopback server with the 88 MB stand-in Xception."""
    with _serving(imagenet_stand_ins, monkeypatch) as running:
        yield running


def test_the_files_are_the_ones_keras_itself_downloads():
    from keras.src.applications import imagenet_utils, xception  # noqa: PLC0415

    assert imagenet.XCEPTION_WEIGHTS.url == xception.WEIGHTS_PATH
    assert imagenet.CLASS_INDEX.url == imagenet_utils.CLASS_INDEX_PATH
    weights_code = inspect.getsource(xception.Xception)
    assert f'"{imagenet.XCEPTION_WEIGHTS.fname}"' in weights_code and f'"{imagenet.XCEPTION_WEIGHTS.md5}"' in weights_code
    decode_code = inspect.getsource(imagenet_utils.decode_predictions)
    assert f'"{imagenet.CLASS_INDEX.fname}"' in decode_code and f'"{imagenet.CLASS_INDEX.md5}"' in decode_code
    assert imagenet.XCEPTION_WEIGHTS.cache_subdir == imagenet.CLASS_INDEX.cache_subdir == "models"


def test_the_cache_is_keras_home_or_home_dot_keras(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert imagenet.cache_path(imagenet.XCEPTION_WEIGHTS) == tmp_path / "kh" / "models" / imagenet.XCEPTION_WEIGHTS.fname
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert imagenet.cache_path(imagenet.ELEPHANT) == tmp_path / "home" / ".keras" / "datasets" / "elephant.jpg"


def test_not_cached_means_a_sentence_and_no_download(keras_home):
    assert not imagenet.imagenet_cached()
    with pytest.raises(imagenet.ImageNetError) as caught:
        imagenet.load_imagenet_xception()
    message = str(caught.value)
    assert str(keras_home / "models" / imagenet.XCEPTION_WEIGHTS.fname) in message
    assert "python -m cvlab_ch9.models download imagenet" in message and imagenet.XCEPTION_WEIGHTS.url in message


@pytest.mark.slow
def test_download_then_load_gives_the_served_weights_and_class_names(model_server, keras_home, imagenet_stand_ins):
    import keras  # noqa: PLC0415

    server, stand_ins = model_server, imagenet_stand_ins
    paths = imagenet.download_imagenet(progress_factory=None, log=lambda line: None, mirror=server.url)
    assert paths == [keras_home / "models" / f.fname for f in imagenet.IMAGENET_FILES]
    assert imagenet.imagenet_cached()
    model = imagenet.load_imagenet_xception()
    assert model.get_layer(imagenet.LAST_CONV_LAYER) is not None
    np.testing.assert_allclose(np.asarray(model(stand_ins.probe_input, training=False)), stand_ins.probe, rtol=1e-4, atol=1e-6)
    top = imagenet.decode_predictions(np.eye(1000)[[386]], top=2)
    assert top[0][0] == ("African_elephant", 1.0)
    # Keras' own get_file finds the file where we put it and downloads nothing (Keras read
    # $KERAS_HOME when it was imported, before this test set it, hence cache_dir)
    found = keras.utils.get_file(imagenet.XCEPTION_WEIGHTS.fname, origin=refused_url() + "/x.h5",
                                 cache_subdir="models", file_hash=imagenet.XCEPTION_WEIGHTS.md5,
                                 cache_dir=str(keras_home))
    assert found == str(paths[0])
    requests = len(server.requests)
    imagenet.download_imagenet(progress_factory=None, log=lambda line: None, mirror=server.url)
    assert len(server.requests) == requests  # cached: nothing downloaded again


def test_a_corrupt_download_is_refused_and_nothing_is_left_in_the_cache(server, keras_home, small_imagenet_stand_ins):
    server.add(imagenet.CLASS_INDEX.url, small_imagenet_stand_ins.class_index.replace(b"class_1", b"class_X"))
    with pytest.raises(imagenet.ImageNetError) as caught:
        imagenet.fetch_keras_file(imagenet.CLASS_INDEX, mirror=server.url)
    message = str(caught.value)
    assert "corrupt (its md5 hash does not match)" in message
    assert f"save it as {keras_home / 'models' / 'imagenet_class_index.json'}" in message
    assert not (keras_home / "models").exists() or not any((keras_home / "models").iterdir())


def test_a_refused_connection_is_one_sentence(keras_home):
    with pytest.raises(imagenet.ImageNetError) as caught:
        imagenet.fetch_keras_file(imagenet.XCEPTION_WEIGHTS, mirror=refused_url())
    message = str(caught.value)
    assert message.startswith("Could not connect to 127.0.0.1") and message.count(". ") == 0
    assert imagenet.XCEPTION_WEIGHTS.url in message


def test_the_command_line_fetches_the_model_and_the_elephant(server, keras_home, capsys):
    assert models_main(["download", "imagenet", "--mirror", server.url]) == 0
    assert "ImageNet Xception is ready" in capsys.readouterr().out
    assert (keras_home / "datasets" / "elephant.jpg").is_file() and imagenet.imagenet_cached()


def test_the_command_line_failure_is_one_line(keras_home, capsys):
    assert models_main(["download", "imagenet", "--mirror", refused_url()]) == 1
    assert capsys.readouterr().err.strip().startswith("error: Could not connect")


@pytest.mark.slow
def test_the_figures_command_draws_gradcam_and_filters_with_the_lab_code(model_server, keras_home, tmp_path, capsys):
    assert figures.main(["gradcam", "--labs", "solutions", "--out", str(tmp_path)]) == 2  # not downloaded yet
    assert "python -m cvlab_ch9.models download imagenet" in capsys.readouterr().err
    assert models_main(["download", "imagenet", "--mirror", model_server.url]) == 0
    assert figures.main(["gradcam", "--labs", "solutions", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "top classes: " in out and (tmp_path / "gradcam_overlay.png").is_file()
    assert figures.main(["filters", "--labs", "solutions", "--n", "2", "--layer", "block2_sepconv1", "--out", str(tmp_path)]) == 0
    with Image.open(tmp_path / "filters_block2_sepconv1.png") as grid:
        assert grid.size == (8 * 155 - 5, 150)  # 200x200 patterns cropped by 25 px, 8 per row, 5 px margins


def test_the_segmentation_figure_uses_the_model_in_use(tmp_path, capsys):
    image = REPO_ROOT / "ui" / "examples" / "pet_cat_bengal.jpg"  # a real photo
    assert figures.main(["segmentation", "--labs", "solutions", "--image", str(image), "--out", str(tmp_path)]) == 0
    with Image.open(tmp_path / "segmentation_mask.png") as mask:
        assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 127, 254}
