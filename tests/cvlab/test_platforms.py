"""cvlab_ch9.platforms: which computers and Pythons cvlab runs on, and the sentences for the others."""

import pytest

from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.platforms import (
    INTEL_MAC,
    PLATFORMS,
    PYTHONS,
    WINDOWS_ARM,
    find_platform,
    platform_problem,
    problem,
    python_problem,
)


@pytest.mark.parametrize(
    ("sys_platform", "machine", "name"),
    [
        ("linux", "x86_64", "Linux x86-64"),
        ("linux", "aarch64", "Linux arm64"),
        ("linux", "arm64", "Linux arm64"),
        ("darwin", "arm64", "macOS arm64"),
        ("win32", "AMD64", "Windows x86-64"),
        ("win32", "x86_64", "Windows x86-64"),
        ("darwin", "x86_64", "macOS x86-64"),
        ("win32", "ARM64", "Windows arm64"),
    ],
)
def test_find_platform_knows_the_usual_machine_names(sys_platform, machine, name):
    assert find_platform(sys_platform, machine).name == name


def test_supported_platforms_have_no_problem():
    for target in PLATFORMS:
        if target.supported:
            assert problem(target.sys_platform, target.machine, (3, 12, 1)) is None


def test_intel_macs_and_windows_on_arm_get_their_sentence():
    assert platform_problem("darwin", "x86_64") == INTEL_MAC
    assert platform_problem("win32", "ARM64") == WINDOWS_ARM
    assert problem("darwin", "x86_64", (3, 12)) == INTEL_MAC  # the platform is named before the Python


def test_an_unknown_machine_is_named_with_the_supported_ones():
    message = platform_problem("linux", "riscv64")
    assert "linux riscv64" in message and "macOS arm64" in message and "Windows x86-64" in message


@pytest.mark.parametrize("version", [(3, 9, 18), (3, 10, 13), (3, 14, 0)])
def test_unsupported_pythons_are_told_which_to_install(version):
    message = python_problem(version)
    assert f"this is Python {version[0]}.{version[1]}" in message
    assert "3.11, 3.12 or 3.13" in message and "py -3.13 -m cvlab_ch9 setup" in message


def test_tested_pythons_have_no_problem():
    for version in PYTHONS:
        major, minor = map(int, version.split("."))
        assert python_problem((major, minor, 0)) is None


def test_the_platforms_page_quotes_the_sentences_setup_stops_with():
    page = " ".join((REPO_ROOT / "docs" / "platforms.md").read_text(encoding="utf-8").split())
    for sentence in (INTEL_MAC, WINDOWS_ARM, python_problem((3, 14, 0))):
        assert sentence in page


def test_marker_environment_matches_the_platform():
    windows = find_platform("win32", "AMD64").marker_environment("3.13")
    assert windows["os_name"] == "nt" and windows["platform_system"] == "Windows"
    assert windows["python_version"] == "3.13" and windows["platform_machine"] == "AMD64"
    mac = find_platform("darwin", "arm64").marker_environment("3.11")
    assert mac["sys_platform"] == "darwin" and mac["os_name"] == "posix" and mac["python_full_version"] == "3.11.0"


def test_one_tensorflow_is_no_problem_two_are_and_none_says_what_to_install():
    from cvlab_ch9.platforms import missing_tensorflow_sentence, tensorflow_problem, tensorflow_wheel  # noqa: PLC0415

    assert tensorflow_problem({"tensorflow": "2.19.0", "keras": "3.10.0"}) is None
    assert tensorflow_problem({"tensorflow-cpu": "2.21.0"}) is None
    two = tensorflow_problem({"tensorflow": "2.19.0", "tensorflow_cpu": "2.21.0"})
    assert "two TensorFlow distributions (tensorflow 2.19.0 and tensorflow_cpu 2.21.0)" in two
    assert "`python -m pip uninstall tensorflow_cpu`" in two
    assert tensorflow_problem({}, importable=True) is None  # a TensorFlow without pip metadata (some conda builds)
    assert tensorflow_problem({}, importable=False) == missing_tensorflow_sentence()
    assert tensorflow_wheel("linux", "x86_64") == tensorflow_wheel("win32", "AMD64") == "tensorflow-cpu"
    assert tensorflow_wheel("darwin", "arm64") == tensorflow_wheel("linux", "aarch64") == "tensorflow"
    assert f'pip install "{tensorflow_wheel()}>=2.18,<2.22"' in missing_tensorflow_sentence()


def test_without_tensorflow_importing_it_raises_the_sentence():
    """import_tensorflow where TensorFlow cannot be imported: ModuleNotFoundError with the sentence, in a child process."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = ("import sys\n"
            "class NoTensorFlow:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'tensorflow':\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, NoTensorFlow())\n"
            "from cvlab_ch9.quiet import import_tensorflow\n"
            "try:\n    import_tensorflow()\nexcept ModuleNotFoundError as exc:\n    print(exc.name, '|', exc)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120).stdout
    assert out.startswith("tensorflow | cvlab needs TensorFlow (2.18 or later, before 2.22)"), out
