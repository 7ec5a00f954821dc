"""Generate the student skeletons in ``labs/`` from ``solutions/``.

``solutions/*.py`` is the single hand-written source. Inside a function,
the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are the
answer; in the skeleton they become
``raise NotImplementedError("<lab>.<function>")``.

Usage::

    python -m cvlab_ch9.generate          # rewrite labs/ from solutions/
    python -m cvlab_ch9.generate --check  # exit 1 when labs/ has drifted
"""

import argparse
import re
import sys
from pathlib import Path

from cvlab_ch9.paths import LABS_DIR, SOLUTIONS_DIR

BEGIN_MARKER = "### BEGIN SOLUTION"
END_MARKER = "### END SOLUTION"
BANNER = (
    "# Generated from solutions/{name} by `python -m cvlab_ch9.generate`.\n"
    "# Implement every function that raises NotImplementedError, then run\n"
    "#     cvlab grade --lab {lab}        (or: python -m cvlab_ch9 grade --lab {lab})\n"
)
_DEF_RE = re.compile(r"^(\s*)def\s+(\w+)\s*\(")


class MarkerError(ValueError):
    """A solution file whose markers are unbalanced or outside a function."""


def _enclosing_function(lines, index, indent):
    """Name of the nearest ``def`` above ``lines[index]`` indented less than ``indent``."""
    for line in reversed(lines[:index]):
        match = _DEF_RE.match(line)
        if match and len(match.group(1)) < indent:
            return match.group(2)
    return None


def strip_solutions(source, lab, filename="<solution>"):
    """Replace every solution block of ``source`` with a NotImplementedError.

    Args:
        source: text of a ``solutions/*.py`` file.
        lab: lab name used in the error message, e.g. ``"segmentation"``.
        filename: used in error messages only.

    Returns:
        str: the skeleton text (without banner).

    Raises:
        MarkerError: nested, unclosed or stray markers, or a block outside
            a function.
    """
    lines = source.splitlines(keepends=True)
    out = []
    block_start = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == BEGIN_MARKER:
            if block_start is not None:
                raise MarkerError(f"{filename}:{i + 1}: nested {BEGIN_MARKER}")
            indent = len(line) - len(line.lstrip())
            function = _enclosing_function(lines, i, indent)
            if function is None:
                raise MarkerError(f"{filename}:{i + 1}: {BEGIN_MARKER} outside a function")
            out.append(f'{" " * indent}raise NotImplementedError("{lab}.{function}")\n')
            block_start = i
        elif stripped == END_MARKER:
            if block_start is None:
                raise MarkerError(f"{filename}:{i + 1}: {END_MARKER} without {BEGIN_MARKER}")
            block_start = None
        elif block_start is None:
            out.append(line)
    if block_start is not None:
        raise MarkerError(f"{filename}:{block_start + 1}: {BEGIN_MARKER} is never closed")
    return "".join(out)


def skeleton_text(source, name, filename=None):
    """Full skeleton text (banner + stripped source) for the solution file ``name`` (e.g. "segmentation.py").

    ``filename`` (default ``name``) is only used in error messages.
    """
    lab = Path(name).stem
    return BANNER.format(name=name, lab=lab) + strip_solutions(source, lab, filename=filename or name)


def skeleton_for(solution_path):
    """Full skeleton text (banner + stripped source) for one solution file."""
    path = Path(solution_path)
    return skeleton_text(path.read_text(encoding="utf-8"), path.name, filename=str(path))


def solution_files(solutions_dir=SOLUTIONS_DIR):
    """The lab modules in ``solutions_dir`` (``*.py`` except private ones), sorted."""
    return sorted(p for p in Path(solutions_dir).glob("*.py") if not p.name.startswith("_"))


def drifted_files(solutions_dir=SOLUTIONS_DIR, labs_dir=LABS_DIR):
    """Names of ``labs/`` files that differ from what the generator would write."""
    drifted = []
    for path in solution_files(solutions_dir):
        target = Path(labs_dir) / path.name
        if not target.exists() or target.read_text(encoding="utf-8") != skeleton_for(path):
            drifted.append(path.name)
    return drifted


def generate_labs(solutions_dir=SOLUTIONS_DIR, labs_dir=LABS_DIR):
    """Write every skeleton into ``labs_dir``; return the names written."""
    labs_dir = Path(labs_dir)
    labs_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in solution_files(solutions_dir):
        target = labs_dir / path.name
        text = skeleton_for(path)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(path.name)
    return written


def drift_cli(argv, prog, description, drifted, write, up_to_date, out_of_date):
    """The ``[--check]`` command line shared by ``cvlab_ch9.generate`` and ``course.notebooks``.

    Args:
        argv: arguments (None: ``sys.argv[1:]``).
        prog: the command shown in ``--help``, e.g. ``"python -m cvlab_ch9.generate"``.
        description: the ``--help`` description.
        drifted: ``drifted() -> list[str]`` of out-of-date targets.
        write: ``write() -> list[str]`` of targets rewritten.
        up_to_date: sentence printed by ``--check`` when nothing drifted.
        out_of_date: ``out_of_date(names) -> str``, printed by ``--check`` on drift.

    Returns:
        int exit code: 1 when ``--check`` finds drift, else 0.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--check", action="store_true", help="only report drift; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        names = drifted()
        print(out_of_date(names) if names else up_to_date)
        return 1 if names else 0
    written = write()
    print("wrote " + (", ".join(written) if written else "nothing (up to date)"))
    return 0


def main(argv=None):
    return drift_cli(
        argv,
        "python -m cvlab_ch9.generate",
        __doc__.splitlines()[0],
        drifted_files,
        lambda: [f"labs/{name}" for name in generate_labs()],
        "labs/ matches solutions/.",
        lambda names: "labs/ is out of date for: " + ", ".join(names) + ". Run `python -m cvlab_ch9.generate`.",
    )


if __name__ == "__main__":
    sys.exit(main())
