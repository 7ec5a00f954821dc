"""Where cvlab runs: the platforms and Python versions TensorFlow publishes wheels for, and TensorFlow itself.

One table serves two readers: ``python -m cvlab_ch9 setup``, which stops with
one sentence on a machine that cannot work (the README quotes the same
sentences), and ``scripts/check_platforms.py``, which asks the package index
whether the dependency list of ``pyproject.toml`` still resolves to wheels
for every supported platform and Python version.

This module (like :mod:`cvlab_ch9.__main__` and :mod:`cvlab_ch9.install`) uses only
the standard library and parses on old Pythons: it is what tells a student
running Python 3.9 to install 3.11-3.13.
"""

import contextlib
import dataclasses
import importlib.util
import platform
import sys

#: Python versions cvlab is tested on; pyproject's requires-python says the same.
PYTHONS = ("3.11", "3.12", "3.13")

#: Oldest glibc and macOS whose wheels the check accepts (Ubuntu 20.04, macOS 13 Ventura).
GLIBC_MINOR = 31
MACOS = (13, 0)

INTEL_MAC = (
    "cvlab cannot run on macOS x86-64 (an Intel Mac, or an Intel build of Python under Rosetta): "
    "TensorFlow 2.17 and later publish no wheels for it. On an Apple-silicon Mac, install an arm64 Python "
    "(python.org's universal2 installer or Homebrew) and run the command with it; on an Intel Mac, use a "
    "Linux or Windows computer."
)
WINDOWS_ARM = (
    "cvlab cannot run on Windows on ARM: TensorFlow publishes no wheels for it. "
    "Use WSL 2 (Linux on arm64 is supported) and run ./run.sh ui there."
)

_SYSTEM = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}


@dataclasses.dataclass(frozen=True)
class Platform:
    """One operating system + CPU combination.

    Attributes:
        name: shown to people, e.g. ``"macOS arm64"``.
        sys_platform: ``sys.platform`` there (``linux``, ``darwin``, ``win32``).
        machine: ``platform.machine()`` there (``x86_64``, ``aarch64``, ``arm64``, ``AMD64``).
        wheel_tags: platform tags of the wheels pip may install there (``pip --platform``).
        uv_triple: the same target for ``uv pip compile --python-platform``.
        unsupported: the sentence ``setup`` stops with; empty for a supported platform.
    """

    name: str
    sys_platform: str
    machine: str
    wheel_tags: tuple
    uv_triple: str
    unsupported: str = ""

    @property
    def supported(self):
        return not self.unsupported

    def marker_environment(self, python):
        """The PEP 508 marker values of CPython ``python`` (``"3.12"``) on this platform.

        The OS's release and version strings are unknown and left empty.
        """
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{python}.0",
            "os_name": "nt" if self.sys_platform == "win32" else "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": _SYSTEM[self.sys_platform],
            "platform_version": "",
            "python_full_version": f"{python}.0",
            "python_version": python,
            "sys_platform": self.sys_platform,
        }


def _manylinux(arch):
    return tuple(f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 16, -1)) + (f"manylinux2014_{arch}",)


_MAC_TAG = "macosx_{}_{}".format(*MACOS)
_LINUX_UV = f"manylinux_2_{GLIBC_MINOR}"

PLATFORMS = (
    Platform("Linux x86-64", "linux", "x86_64", _manylinux("x86_64"), f"x86_64-{_LINUX_UV}"),
    Platform("Linux arm64", "linux", "aarch64", _manylinux("aarch64"), f"aarch64-{_LINUX_UV}"),
    Platform("macOS arm64", "darwin", "arm64", (f"{_MAC_TAG}_arm64",), "aarch64-apple-darwin"),
    Platform("Windows x86-64", "win32", "AMD64", ("win_amd64",), "x86_64-pc-windows-msvc"),
    Platform("macOS x86-64", "darwin", "x86_64", (f"{_MAC_TAG}_x86_64",), "x86_64-apple-darwin", INTEL_MAC),
    Platform("Windows arm64", "win32", "ARM64", ("win_arm64",), "aarch64-pc-windows-msvc", WINDOWS_ARM),
)


def _arch(machine):
    machine = machine.lower()
    return _ARCH_ALIASES.get(machine, machine)


def find_platform(sys_platform=None, machine=None):
    """The :class:`Platform` of this computer (or of the given values); None when it is not in the table."""
    sys_platform = sys_platform or sys.platform
    arch = _arch(machine or platform.machine())
    for candidate in PLATFORMS:
        if candidate.sys_platform == sys_platform and _arch(candidate.machine) == arch:
            return candidate
    return None


def python_problem(version_info=None):
    """The sentence for an unsupported Python version, else None.

    Args:
        version_info: ``(major, minor, ...)``; default ``sys.version_info``.
    """
    major, minor = tuple(version_info or sys.version_info)[:2]
    if f"{major}.{minor}" in PYTHONS:
        return None
    newest = PYTHONS[-1]
    return (
        f"cvlab needs Python {', '.join(PYTHONS[:-1])} or {newest} (the versions it is tested on, with TensorFlow "
        f"wheels for each); this is Python {major}.{minor}. Install one of them and run the command with it, "
        f"e.g. `python{newest} -m cvlab_ch9 setup` (Windows: `py -{newest} -m cvlab_ch9 setup`)."
    )


def platform_problem(sys_platform=None, machine=None):
    """The sentence for a computer TensorFlow publishes no wheels for, else None."""
    found = find_platform(sys_platform, machine)
    if found is not None:
        return found.unsupported or None
    supported = ", ".join(p.name for p in PLATFORMS if p.supported)
    return (
        f"cvlab runs on {supported}; this computer is {sys_platform or sys.platform} "
        f"{machine or platform.machine()}, for which TensorFlow publishes no wheels."
    )


def problem(sys_platform=None, machine=None, version_info=None):
    """Why cvlab cannot run here (one sentence), or None when it can."""
    return platform_problem(sys_platform, machine) or python_problem(version_info)


#: The TensorFlow versions cvlab is tested with (pyproject.toml's ``cpu`` extra says the same).
TENSORFLOW_RANGE = ("2.18", "2.22")
#: The distributions that install the ``tensorflow`` import package; both in one environment break each other.
#: (TensorFlow 2.15 and older also had tensorflow-macos and tensorflow-intel, which ``tensorflow`` itself required.)
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu")


def tensorflow_wheel(sys_platform=None, machine=None):
    """The TensorFlow distribution pip should install here: ``tensorflow-cpu`` where it has wheels, else ``tensorflow``."""
    found = find_platform(sys_platform, machine)
    return "tensorflow-cpu" if found is not None and found.name in ("Linux x86-64", "Windows x86-64") else "tensorflow"


def installed_tensorflows(distributions=None):
    """``{distribution: version}`` of the TensorFlow distributions installed in this environment.

    Args:
        distributions: ``{name: version}`` of every installed distribution
            (default: read with :mod:`importlib.metadata`).
    """
    if distributions is None:
        from importlib import metadata  # noqa: PLC0415 - Python 3.8+, only when asked

        distributions = {}
        for name in TENSORFLOW_DISTRIBUTIONS:
            with contextlib.suppress(metadata.PackageNotFoundError):
                distributions[name] = metadata.version(name)
    return {name: version for name, version in distributions.items() if name.lower().replace("_", "-") in TENSORFLOW_DISTRIBUTIONS}


def missing_tensorflow_sentence(python=None):
    """What to do when TensorFlow is not installed, as one sentence naming the pip command for this computer."""
    low, high = TENSORFLOW_RANGE
    return (
        f"cvlab needs TensorFlow ({low} or later, before {high}), which this Python ({python or sys.executable}) does not have: "
        f'install it with `python -m pip install "{tensorflow_wheel()}>={low},<{high}"` (or install the lab with '
        '`pip install "cvlab-ch9[cpu]"`), then run the command again. Where TensorFlow comes with the environment '
        "(Colab, a Jupyter TensorFlow image, conda), use that environment's Python instead."
    )


def tensorflow_problem(distributions=None, importable=None):
    """Why TensorFlow cannot be used here (one sentence), or None.

    Args:
        distributions: as for :func:`installed_tensorflows`.
        importable: whether ``import tensorflow`` would find a module
            (default: asked with :func:`importlib.util.find_spec`); a
            TensorFlow without pip metadata (some conda builds) counts.
    """
    found = installed_tensorflows(distributions)
    if len(found) > 1:
        names = " and ".join(f"{name} {version}" for name, version in sorted(found.items()))
        keep = "tensorflow" if "tensorflow" in found else sorted(found)[0]
        others = " ".join(sorted(name for name in found if name != keep))
        return (f"This environment has two TensorFlow distributions ({names}), which overwrite each other's files and break "
                f"TensorFlow: keep one (`python -m pip uninstall {others}`), then run the command again.")
    if found:
        return None
    if importable is None:
        importable = importlib.util.find_spec("tensorflow") is not None
    return None if importable else missing_tensorflow_sentence()
