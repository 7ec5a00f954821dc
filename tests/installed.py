"""Fresh virtual environments for the tests of what a student installs (the wheel, the kit, a hub image's steps).

Downloading TensorFlow and Gradio into every fresh environment would take
minutes, so the heavy packages come from this test run's own environment
(not the checkout): a ``.pth`` file in the fresh environment's
``site-packages`` adds a folder of links to that environment's installed
packages. pip sees them as installed, so ``pip install`` of the wheel
resolves against them and installs only what is missing, exactly as on a
machine that already has them. :func:`overlay` can present the packages
under other distribution names: a ``tensorflow`` distribution instead of
``tensorflow-cpu`` stands for a Colab or docker-stacks image (both wheels
hold the same ``tensorflow`` import package). Nothing of the checkout is on
the fresh environment's path.
"""

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

from cvlab_ch9.paths import REPO_ROOT

#: This run's installed packages (the project's .venv, never the checkout).
BASE_SITE = Path(sysconfig.get_paths()["purelib"])


def _renamed_dist_info(source, target_dir, name):
    """A copy of the ``.dist-info`` folder ``source`` whose distribution is called ``name``; its path."""
    version = source.name.removesuffix(".dist-info").rsplit("-", 1)[1]
    target = target_dir / f"{name.replace('-', '_')}-{version}.dist-info"
    target.mkdir()
    for item in ("METADATA", "top_level.txt"):
        if (source / item).is_file():
            text = (source / item).read_text(encoding="utf-8")
            if item == "METADATA":
                text = re.sub(r"^Name: .*$", f"Name: {name}", text, count=1, flags=re.MULTILINE)
            (target / item).write_text(text, encoding="utf-8")
    (target / "INSTALLER").write_text("pip\n", encoding="utf-8")
    return target


def overlay(target_dir, rename=None, leave_out=()):
    """A folder of links to :data:`BASE_SITE`'s entries, as a site folder for a fresh environment.

    Args:
        rename: ``{distribution: new name}``: that distribution's metadata
            appears under the new name (its import packages are kept).
        leave_out: distributions whose metadata is left out (pip then sees
            them as not installed); their import packages stay.

    Returns:
        The folder (a Path).
    """
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True)
    dropped = {name.lower().replace("-", "_") for name in [*leave_out, *(rename or {})]}
    for entry in BASE_SITE.iterdir():
        if entry.suffix == ".pth" or entry.name.startswith("__editable__"):
            continue  # neither is processed from a .pth folder; an editable install would point at a checkout
        distribution = entry.name.removesuffix(".dist-info").rsplit("-", 1)[0].lower() if entry.name.endswith(".dist-info") else None
        if distribution in dropped:
            new_name = next((new for old, new in (rename or {}).items() if old.lower().replace("-", "_") == distribution), None)
            if new_name:
                _renamed_dist_info(entry, target_dir, new_name)
            continue
        (target_dir / entry.name).symlink_to(entry)
    return target_dir


def venv_python(venv):
    return Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def site_packages(venv):
    """The fresh environment's ``site-packages``."""
    python = venv_python(venv)
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def fresh_venv(venv, base_site=BASE_SITE, with_pip=True, python=sys.executable):
    """``python -m venv venv`` whose ``site-packages`` holds a ``.pth`` naming ``base_site``; its Python.

    Args:
        with_pip: run ensurepip (as the student's ``python -m venv`` does);
            without it, install with :func:`pip_install` (this run's pip).
    """
    command = [python, "-m", "venv", str(venv)] + ([] if with_pip else ["--without-pip"])
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    (site_packages(venv) / "_cvlab_test_base.pth").write_text(f"{base_site}\n", encoding="utf-8")
    return venv_python(venv)


def pip_install(venv, *args, timeout=600):
    """``pip install args...`` into ``venv`` with this run's pip (``pip --python``); the completed process."""
    command = [sys.executable, "-m", "pip", "--python", str(venv_python(venv)), "install", "--disable-pip-version-check", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def stub_wheel(folder, name, version):
    """A wheel of distribution ``name`` holding only its metadata, for a resolver to choose (never installed); its path."""
    import zipfile  # noqa: PLC0415

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{stem}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        wheel.writestr(f"{stem}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: cvlab-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{stem}.dist-info/RECORD", "")
    return path


def would_install(venv, *requirements, find_links=None):
    """The distribution names ``pip install requirements`` would install into ``venv`` (a dry run's report).

    Offline (``--no-index``): what is not installed already comes only from ``find_links``.
    """
    report = Path(venv) / "pip-report.json"
    links = ["--find-links", str(find_links)] if find_links else []
    done = pip_install(venv, "--dry-run", "--quiet", "--no-index", *links, "--report", str(report), *requirements)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(report.read_text(encoding="utf-8"))
    return sorted(item["metadata"]["name"].lower().replace("_", "-") for item in document["install"])


def clean_env(**extra):
    """This process's environment without anything that points into the checkout (PYTHONPATH, CVLAB_ROOT);
    pip there never reaches a package index (``PIP_NO_INDEX``): what is missing fails the test instead."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CVLAB_ROOT", "VIRTUAL_ENV")}
    env["PIP_NO_INDEX"] = "1"
    env.update(extra)
    return env


FOREIGN_IMPORTS = """
import importlib.util, json, sys
names = ["cvlab_ch9", "solutions", "course", "grader", "ui", "labs", "models", "tools", "bench", "tests",
         "cvlab_ch9.grader.hidden", "cvlab_ch9.grader.batch", "cvlab_ch9.grader.record", "cvlab_ch9.fastpaths",
         "cvlab_ch9.ui.gallery"]
found = {}
for name in names:
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    found[name] = None if spec is None else (spec.origin or list(spec.submodule_search_locations or []))
print(json.dumps(found))
"""


def importable(python, cwd):
    """``{module: where it would be imported from, or None}`` for the checkout's and the instructor-only names."""
    done = subprocess.run([str(python), "-c", FOREIGN_IMPORTS], cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          check=True, timeout=120)
    return json.loads(done.stdout)


def from_checkout(where):
    """True when a :func:`importable` location lies in the checkout."""
    paths = where if isinstance(where, list) else [where]
    return any(p and Path(p).resolve().is_relative_to(REPO_ROOT.resolve()) for p in paths)


def kernel_manager(python, folder):
    """A Jupyter kernel manager whose kernel runs ``python`` (an installed copy's, with ipykernel), its spec in ``folder``."""
    from jupyter_client import KernelManager  # noqa: PLC0415 - only the notebook tests need Jupyter
    from jupyter_client.kernelspec import KernelSpecManager  # noqa: PLC0415

    spec_dir = Path(folder) / "kernels" / "installed"
    spec_dir.mkdir(parents=True)
    spec = {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "installed",
            "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return KernelManager(kernel_name="installed", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]))
