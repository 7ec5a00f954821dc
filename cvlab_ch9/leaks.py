"""The one leak check of everything a student installs: the kit, the student wheel, a hub image.

Nothing a student installs may hold the answer key. :func:`find_leaks`
reads a folder, a ``.zip`` or a ``.whl`` (archives inside it too: the kit
carries the wheel; a recording, ``.rec``, is inflated) and reports

- **instructor-only files** by their path: ``solutions/``, ``course/``,
  ``grader/hidden/``, ``grader/batch/``, ``grader/record.py``, the live
  reference's fast paths (``cvlab_ch9/fastpaths.py``) and its gallery
  recorder (``ui/gallery.py``), the development folders;
- **solution blocks**: a line that is a ``### BEGIN SOLUTION`` or
  ``### BEGIN HIDDEN TESTS`` marker (course sources and unreleased notebooks);
- **reference bodies**: the body of any reference function of
  ``solutions/`` (where it exists), with comments and whitespace taken out
  so that reformatting cannot hide a copy, in every file, every notebook
  cell and every string and array of a recording (the grader's expectations,
  the UI's gallery);
- in a wheel, **top-level names** other than ``cvlab_ch9`` and its
  ``.dist-info``.

Every build step calls :func:`check_artifact`, which raises
:class:`LeakError` with one sentence: the wheel's ``build_py`` (``setup.py``),
``python -m course kit`` (the kit folder and its zip) and the JupyterHub
image recipe (``python -m cvlab_ch9.leaks --installed`` in the image, where
there is no answer key to compare with, checks the paths and markers of
what pip installed).

Standard library only: ``setup.py`` runs it in pip's isolated build
environment.
"""

import argparse
import ast
import dataclasses
import io
import json
import re
import sys
import tokenize
import zipfile
from pathlib import Path, PurePosixPath

from cvlab_ch9.generate import BEGIN_MARKER, END_MARKER, solution_files
from cvlab_ch9.paths import PACKAGE_DIR, SOLUTIONS_DIR
from cvlab_ch9.recording import SUFFIX as RECORDING_SUFFIX
from cvlab_ch9.recording import ContainerError, frame_header, unpack

#: The one import name a student's wheel installs (and its metadata folder).
IMPORT_NAME = "cvlab_ch9"
DISTRIBUTION = "cvlab-ch9"
#: Paths (posix, anywhere in an artifact) that only the instructor's checkout holds.
INSTRUCTOR_ONLY = (
    re.compile(r"(^|/)(solutions|course|tests|tools|bench)(/|$)"),
    re.compile(r"(^|/)grader/(hidden|batch)(/|$)"),
    re.compile(r"(^|/)grader/record\.py$"),
    re.compile(r"(^|/)cvlab_ch9/fastpaths\.py$"),
    re.compile(r"(^|/)ui/gallery\.py$"),
)
#: Marker lines of answers and hidden tests (nbgrader's syntax); released notebooks and skeletons have none.
MARKER_LINES = (BEGIN_MARKER, END_MARKER, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
ARCHIVES = (".zip", ".whl", ".npz")
#: Files read as text (a copied body may be reformatted or commented there).
TEXT_SUFFIXES = (".py", ".ipynb", ".md", ".txt", ".json", ".rst", ".cfg", ".toml", ".html", ".sh", "METADATA", "README")
_WHEEL_TOP = re.compile(rf"^({IMPORT_NAME}/|{IMPORT_NAME}-[^/]+\.dist-info/)")


class LeakError(RuntimeError):
    """An artifact for students would hold the answer key; the message says what and where."""


@dataclasses.dataclass(frozen=True, order=True)
class Leak:
    """One finding: ``file`` (``archive!member`` inside archives) and ``what`` it gives away."""

    file: str
    what: str


def instructor_only(path):
    """True when ``path`` (a file or folder, posix, relative) is one of :data:`INSTRUCTOR_ONLY` or lies inside one."""
    return any(pattern.search(str(PurePosixPath(path))) for pattern in INSTRUCTOR_ONLY)


# -- what a reference body looks like ----------------------------------------------------------


def normalized(code):
    """``code`` without comments and whitespace (so formatting cannot hide a copy)."""
    try:
        tokens = [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                  if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)]
        text = "".join(tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        text = re.sub(r"#[^\n]*", "", code)
    return re.sub(r"\s+", "", text)


def solution_bodies(solutions_dir=SOLUTIONS_DIR):
    """``{"lab.function": normalized solution block}`` of every exercise of every solution (empty without ``solutions_dir``)."""
    bodies = {}
    for path in solution_files(solutions_dir) if solutions_dir is not None and Path(solutions_dir).is_dir() else ():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.parse(source).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            # the END marker is a comment after the function's last statement: look past end_lineno
            begin = next((i for i in range(node.lineno - 1, node.end_lineno) if lines[i].strip() == BEGIN_MARKER), None)
            end = next((i for i in range(begin + 1, len(lines)) if lines[i].strip() == END_MARKER), None) if begin is not None else None
            if begin is not None and end is not None:
                body = normalized("\n".join(lines[begin + 1 : end]))
                if body:
                    bodies[f"{path.stem}.{node.name}"] = body
    return bodies


# -- reading an artifact ----------------------------------------------------------------------


def _npy_payload(raw):
    """The data bytes of a ``.npy`` file (after its header); ``raw`` itself when it is not one."""
    if not raw.startswith(b"\x93NUMPY") or len(raw) < 10:
        return raw
    size, start = (int.from_bytes(raw[8:10], "little"), 10) if raw[6] == 1 else (int.from_bytes(raw[8:12], "little"), 12)
    return raw[start + size :]


def _strings(value):
    """Every string in a JSON value (keys too), depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _recording_texts(raw):
    """``(text, is_code)`` pairs of a recording: each frame's strings and its raw bytes (inflated); None when it is not one."""
    try:
        _, frames = unpack(raw)
        return [pair for body in frames
                for pair in (("\n".join(_strings(frame_header(body))), True), (body.decode("utf-8", errors="replace"), False))]
    except ContainerError:
        return None


def _texts(name, raw):
    """``(text, is_code)`` pairs to search in one file: the file, a notebook's cell sources, a JSON document's strings.

    ``is_code``: worth reading as Python tokens (comments dropped); binary data is only searched with its whitespace removed.
    """
    if name.endswith(RECORDING_SUFFIX) and (texts := _recording_texts(raw)) is not None:
        return texts
    text = _npy_payload(raw).decode("utf-8", errors="replace")
    texts = [(text, name.endswith(TEXT_SUFFIXES))]
    if name.endswith((".ipynb", ".json", ".npy")):
        try:
            document = json.loads(text)
        except ValueError:
            return texts
        if name.endswith(".ipynb") and isinstance(document, dict):
            texts.append(("\n".join("".join(c.get("source", "")) for c in document.get("cells", []) if isinstance(c, dict)), True))
        else:
            texts.append(("\n".join(_strings(document)), True))
    return texts


def _archive_members(name, raw):
    """``(member name, bytes)`` of the files in a zip archive, or None when ``raw`` is not one."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        return None
    with archive:
        return [(member.filename, archive.read(member)) for member in archive.infolist() if not member.is_dir()]


def artifact_files(path):
    """``(name, bytes)`` of every file of a folder, ``.zip`` or ``.whl``, archives inside expanded (``outer!inner``)."""
    path = Path(path)
    if path.is_dir():
        top = [(p.relative_to(path).as_posix(), p.read_bytes()) for p in sorted(path.rglob("*")) if p.is_file()]
    else:
        top = [(path.name, path.read_bytes())]
    pending = list(top)
    while pending:
        name, raw = pending.pop(0)
        members = _archive_members(name, raw) if name.endswith(ARCHIVES) else None
        if members is None:
            yield name, raw
            continue
        if name.endswith(".whl"):
            yield name, b""  # the wheel itself: its top-level names are checked by find_leaks
        pending[:0] = [(f"{name}!{member}", data) for member, data in members]


# -- the check -------------------------------------------------------------------------------


def _file_leaks(name, raw, bodies):
    if instructor_only(name.replace("!", "/")):
        return [Leak(name, "an instructor-only file")]
    if name.endswith(".pyc"):
        return []  # compiled code holds no source; its .py is checked
    leaks = []
    for text, is_code in _texts(name, raw):
        if any(line.strip() in MARKER_LINES for line in text.splitlines()):
            leaks.append(Leak(name, "a solution or hidden-test block"))
        squeezed, tokens = re.sub(r"\s+", "", text), normalized(text) if is_code else ""
        leaks.extend(Leak(name, lab_function) for lab_function, body in bodies.items() if body in squeezed or body in tokens)
    return leaks


def _wheel_leaks(name, members):
    outside = sorted({m.split("/", 1)[0] for m in members if not _WHEEL_TOP.match(m)})
    return [Leak(name, f"the top-level name {top!r} (a student wheel installs only {IMPORT_NAME})") for top in outside]


def leaks_in(files, bodies):
    """The :class:`Leak` list of ``(name, bytes)`` pairs (:func:`artifact_files`), given the normalized ``bodies``."""
    leaks, wheels = [], {}
    for name, raw in files:
        outer, _, member = name.rpartition("!")
        if outer.endswith(".whl"):
            wheels.setdefault(outer, []).append(member)
        if not name.endswith(".whl"):
            leaks.extend(_file_leaks(name, raw, bodies))
    for wheel, members in wheels.items():
        leaks.extend(_wheel_leaks(wheel, members))
    return sorted(set(leaks))


def find_leaks(path, solutions_dir=SOLUTIONS_DIR):
    """Every :class:`Leak` in the folder, ``.zip`` or ``.whl`` at ``path``, sorted (empty: nothing gives an answer away).

    Args:
        solutions_dir: the answer key to look for (reference bodies); None,
            or a folder that does not exist (an installed copy), checks only
            paths, markers and a wheel's top-level names.
    """
    return leaks_in(artifact_files(path), solution_bodies(solutions_dir))


def describe(leaks, limit=5):
    """The leaks as one clause: ``"segmentation.mean_iou in labs/x.py, an instructor-only file in solutions/a.py"``."""
    shown = ", ".join(f"{leak.what} in {leak.file}" for leak in leaks[:limit])
    return shown + (f" and {len(leaks) - limit} more" if len(leaks) > limit else "")


def check_artifact(path, what, solutions_dir=SOLUTIONS_DIR):
    """Raise :class:`LeakError` when the artifact at ``path`` (``what`` names it in the sentence) holds the answer key."""
    leaks = find_leaks(path, solutions_dir)
    if leaks:
        raise LeakError(f"{what} would hold the answer key ({describe(leaks)}); it was not finished. "
                        "Remove those files or that code from what the build copies, then build again.")


def installed_leaks():
    """Leaks in the installed ``cvlab_ch9`` (paths and markers) and in what its distribution installed (top-level names)."""
    from importlib import metadata  # noqa: PLC0415 - only for this check

    files = ((f"{IMPORT_NAME}/{name}", raw) for name, raw in artifact_files(PACKAGE_DIR))
    leaks = leaks_in(files, bodies={})
    try:
        installed = metadata.files(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        installed = []
    tops = {PurePosixPath(f).parts[0] for f in installed if not str(f).startswith("..")}
    leaks.extend(_wheel_leaks(DISTRIBUTION, [f"{top}/" for top in tops]))
    return sorted(set(leaks))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cvlab_ch9.leaks", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="folders, .zip or .whl files to check")
    parser.add_argument("--installed", action="store_true", help="check the installed cvlab_ch9 (a hub image's build step)")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS_DIR, help="the answer key to look for (default: the checkout's)")
    args = parser.parse_args(argv)
    if not args.paths and not args.installed:
        parser.error("name a folder, .zip or .whl, or --installed")
    found = installed_leaks() if args.installed else []
    for path in args.paths:
        found.extend(find_leaks(path, args.solutions))
    if found:
        print(f"cvlab leak check: the answer key would reach students ({describe(found, limit=20)}).", file=sys.stderr)
        return 1
    checked = ", ".join([*map(str, args.paths), *(["the installed cvlab_ch9"] if args.installed else [])])
    print(f"cvlab leak check: no answer key in {checked}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
