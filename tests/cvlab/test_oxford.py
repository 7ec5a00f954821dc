"""python -m cvlab_ch9.data download: the real download code against a loopback server."""

import errno
import shutil
from pathlib import Path

import numpy as np
import pytest

from cvlab_ch9 import data, download
from cvlab_ch9.data import oxford
from cvlab_ch9.data.__main__ import main as data_main
from tests.cvlab.oxford_archives import make_oxford_archives, wrong_layout_archive
from tests.http_server import LoopbackServer, refused_url

N_IMAGES = 12


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, bytes]:
    return make_oxford_archives(tmp_path_factory.mktemp("oxford-src"), N_IMAGES)


@pytest.fixture()
def server(archives):
    with LoopbackServer() as running:
        for archive in oxford.ARCHIVES:
            running.add(archive.url, archives[archive.name])
        yield running


@pytest.fixture()
def places(tmp_path):
    return {"root": tmp_path / "data" / "oxford-iiit-pet", "downloads": tmp_path / "data" / "downloads"}


def install(places, mirror, **kwargs):
    kwargs.setdefault("timeout", 5)
    return oxford.install_oxford_pets(places["root"], places["downloads"], mirror, progress_factory=None,
                                      log=lambda line: None, **kwargs)


def leftovers(places) -> list[str]:
    """Names a loader could trip over: temporary folders and .part files."""
    parent = places["root"].parent
    return sorted(p.name for p in parent.rglob("*") if ".tmp-" in p.name or p.name.endswith(".part"))


def test_download_extracts_where_the_loader_finds_it_and_a_second_run_downloads_nothing(server, places):
    result = install(places, server.url)
    assert result["downloaded"] and result["n_images"] == N_IMAGES
    samples = data.find_samples(places["root"])
    assert len(samples) == N_IMAGES
    assert {s.species for s in samples} == {"cat", "dog"}
    images, trimaps = data.load_segmentation_arrays(places["root"], img_size=(32, 32))
    assert images.shape == (N_IMAGES, 32, 32, 3) and set(np.unique(trimaps)) <= {1, 2, 3}
    assert not any(places["downloads"].glob("*.tar.gz"))  # archives removed after a good install
    assert leftovers(places) == []
    requested = len(server.requests)
    again = install(places, server.url)
    assert again["downloaded"] is False and again["n_images"] == N_IMAGES
    assert len(server.requests) == requested  # nothing downloaded


def test_an_interrupted_download_resumes_with_a_range_request(server, places, archives):
    images = archives["images.tar.gz"]
    places["downloads"].mkdir(parents=True)
    (places["downloads"] / "images.tar.gz.part").write_bytes(images[: len(images) // 2])
    install(places, server.url)
    assert ("/www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz", f"bytes={len(images) // 2}-") in server.requests
    assert len(data.find_samples(places["root"])) == N_IMAGES


def test_a_server_without_ranges_restarts_the_download_cleanly(server, places, archives):
    server.behaviour.ranges = False
    places["downloads"].mkdir(parents=True)
    (places["downloads"] / "images.tar.gz.part").write_bytes(b"stale bytes from another file")
    install(places, server.url)
    assert len(data.find_samples(places["root"])) == N_IMAGES


def test_a_cut_off_transfer_is_resumed_in_the_same_run(server, places, archives):
    path = "/www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz"
    server.behaviour.cut_after[path] = 1000
    install(places, server.url)
    assert (path, "bytes=1000-") in server.requests
    assert len(data.find_samples(places["root"])) == N_IMAGES


def test_a_truncated_archive_is_deleted_and_explained(server, places, archives):
    server.add(oxford.ARCHIVES[0].url, archives["images.tar.gz"][:-2000])
    with pytest.raises(oxford.OxfordError) as caught:
        install(places, server.url)
    message = str(caught.value)
    assert "images.tar.gz is damaged" in message and "was deleted" in message
    assert oxford.ARCHIVES[0].url in message and str(places["downloads"]) in message
    assert not places["root"].exists() and not (places["downloads"] / "images.tar.gz").exists()
    assert leftovers(places) == []


def test_an_archive_with_the_wrong_layout_is_refused(server, places, tmp_path):
    server.add(oxford.ARCHIVES[0].url, wrong_layout_archive(tmp_path))
    with pytest.raises(oxford.OxfordError, match="outside images/"):
        install(places, server.url)
    assert not places["root"].exists() and leftovers(places) == []


def test_archives_that_do_not_belong_together_are_refused(server, places, tmp_path):
    other = make_oxford_archives(tmp_path / "other", 6, seed=9)
    server.add(oxford.ARCHIVES[1].url, other["annotations.tar.gz"])  # trimaps for other images
    with pytest.raises(oxford.OxfordError, match="layout") as caught:
        install(places, server.url)
    assert "deleted" in str(caught.value)
    assert not places["root"].exists() and not any(places["downloads"].glob("*.tar.gz"))


def test_connection_refused_says_how_to_download_by_hand(places):
    with pytest.raises(oxford.OxfordError) as caught:
        install(places, refused_url())
    message = str(caught.value)
    assert "connection refused" in message
    assert "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz" in message
    assert f"put them in {places['downloads']}/" in message
    assert message.count(". ") == 0  # one sentence
    assert not places["root"].exists() and leftovers(places) == []


def test_a_stalled_server_times_out(server, places):
    server.behaviour.stall_after = 500
    server.behaviour.stall_seconds = 3
    with pytest.raises(oxford.OxfordError, match="stalled: no data for 0.3 s"):
        install(places, server.url, timeout=0.3)
    assert not places["root"].exists()
    # only the .part (in the downloads folder, resumable) is left, never a half data set
    assert [p.name for p in places["downloads"].iterdir()] == ["images.tar.gz.part"]


def test_archives_put_there_by_hand_are_used_without_downloading(places, archives):
    places["downloads"].mkdir(parents=True)
    for name, payload in archives.items():
        (places["downloads"] / name).write_bytes(payload)
    result = install(places, refused_url())  # no server at all
    assert result["downloaded"] and result["n_images"] == N_IMAGES


def test_an_extracted_data_set_already_there_means_no_download(places, tmp_path):
    shutil.copytree(data.generate_synthetic_pets(tmp_path / "pets", 6, (32, 32), seed=4), places["root"])
    result = install(places, refused_url())
    assert result["downloaded"] is False and result["n_images"] == 6


def test_a_folder_that_is_not_the_data_set_is_left_alone(places):
    places["root"].mkdir(parents=True)
    (places["root"] / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(oxford.OxfordError, match="nothing was changed"):
        install(places, refused_url())
    assert (places["root"] / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_too_little_disk_space_is_one_sentence(server, places, monkeypatch):
    monkeypatch.setattr(download.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(oxford.OxfordError, match=r"^Not enough disk space in .*: the download needs about .* and 1.0 kB is free"):
        install(places, server.url)


def test_no_permission_is_one_sentence(places, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(oxford.OxfordError, match=r"^Cannot write to .* \(permission denied\)"):
        install(places, refused_url())


def test_the_command_line_installs_then_reports_it_is_in_place(server, places, capsys):
    argv = ["download", "--root", str(places["root"]), "--downloads", str(places["downloads"]), "--mirror", server.url]
    assert data_main(argv) == 0
    out = capsys.readouterr()
    assert f"installed Oxford-IIIT Pets in {places['root']}: {N_IMAGES} images" in out.out
    assert "images.tar.gz [" in out.err  # the progress bar
    assert data_main(argv) == 0
    assert "nothing downloaded" in capsys.readouterr().out


def test_the_command_line_failure_is_one_line_on_stderr(places, capsys):
    argv = ["download", "--root", str(places["root"]), "--downloads", str(places["downloads"]), "--mirror", refused_url()]
    assert data_main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: Could not connect to 127.0.0.1")


def test_mirrored_urls_keep_host_and_path():
    url = "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz"
    assert download.mirrored(url, "") == url
    assert download.mirrored(url, "http://127.0.0.1:9/") == "http://127.0.0.1:9/www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz"


def test_the_data_keyword_means_the_default_root():
    assert oxford.resolve_data_root("oxford") == oxford.DEFAULT_ROOT
    assert oxford.resolve_data_root("some/dir") == Path("some/dir")
    assert oxford.resolve_data_root(None) is None
