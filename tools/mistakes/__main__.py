"""``python -m tools.mistakes``: grade the catalogue of typical mistakes and equivalent variants, report the rates.

    python -m tools.mistakes                   # everything, a table and the totals
    python -m tools.mistakes --only ID [ID..]  # some entries
    python -m tools.mistakes --lab architecture --kind mistakes
    python -m tools.mistakes --format json     # machine-readable (per entry and totals)
    python -m tools.mistakes --format markdown # the work list for the notes
    python -m tools.mistakes --probes          # also show that each edge entry is a real mistake

Every entry is graded in this process against the live reference from
``solutions/`` (hidden checks included), one labs folder per entry in a
temporary directory. A mistake is *caught* when its exercise loses points,
*named* when the first failing hint of that exercise matches all of the
entry's required expressions; *collateral* lists the lab's other exercises
that lost points. A variant must get full marks.
"""

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

from tools.mistakes.catalogue import FUNCTIONS, entry_by_id, mistakes, variants

HINT_CHARS = 160


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tools.mistakes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="grade only these entries")
    parser.add_argument("--lab", choices=list(FUNCTIONS), help="grade only this lab's entries")
    parser.add_argument("--kind", choices=("all", "mistakes", "variants"), default="all")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--visible-only", action="store_true", help="skip the hidden checks (what the student kit grades)")
    parser.add_argument("--probes", action="store_true", help="run each entry's probe against solutions/ (is it a real mistake?)")
    return parser


def selected_entries(args):
    """The entries the arguments ask for, mistakes first."""
    if args.only:
        return [entry_by_id(entry_id) for entry_id in args.only]
    chosen = []
    if args.kind in ("all", "mistakes"):
        chosen.extend(mistakes())
    if args.kind in ("all", "variants"):
        chosen.extend(variants())
    return [e for e in chosen if args.lab is None or e.lab == args.lab]


def totals(results, seconds):
    """The headline numbers of a run (dict)."""
    found = [r for r in results if r.kind == "mistake"]
    equivalent = [r for r in results if r.kind == "variant"]

    def share(count, total):
        return round(100.0 * count / total, 1) if total else None

    caught = sum(r.caught for r in found)
    named = sum(r.named for r in found)
    return {
        "mistakes": len(found),
        "caught": caught,
        "caught_percent": share(caught, len(found)),
        "named": named,
        "named_percent": share(named, len(found)),
        "named_anywhere_percent": share(sum(r.named_anywhere for r in found), len(found)),
        "with_collateral": sum(bool(r.collateral) for r in found),
        "edge_mistakes": sum(bool(r.edge) for r in found),
        "edge_caught": sum(bool(r.edge) and r.caught for r in found),
        "variants": len(equivalent),
        "variants_failed": sum(not r.full_marks for r in equivalent),
        "false_positive_percent": share(sum(not r.full_marks for r in equivalent), len(equivalent)),
        "errors": sum(bool(r.error) for r in results),
        "seconds": round(seconds, 1),
    }


def _short(text, limit=HINT_CHARS):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _verdict(result):
    if result.error:
        return "ERROR"
    if result.kind == "variant":
        return "pass" if result.full_marks else "FALSE POSITIVE"
    if not result.caught:
        return "MISSED"
    return "named" if result.named else "caught"


def as_record(result, probe=None):
    """One entry's result as JSON-ready data."""
    record = {
        "id": result.id, "kind": result.kind, "lab": result.lab, "function": result.function,
        "edge": result.edge, "verdict": _verdict(result), "caught": result.caught, "named": result.named,
        "named_anywhere": result.named_anywhere, "hint": result.hint, "names": list(result.names),
        "collateral": result.collateral, "full_marks": result.full_marks, "error": result.error,
        "failing": result.failing, "seconds": round(result.seconds, 2),
    }
    if probe is not None:
        record["probe"] = probe
    return record


def entry_lines(record):
    """The text lines of one entry: verdict, id, function, collateral; the hint where it does not name the mistake."""
    extra = f"  collateral: {record['collateral']}" if record["collateral"] else ""
    probe = f"  probe: {record['probe']}" if "probe" in record else ""
    lines = [f"{record['verdict']:<15} {record['id']:<40} {record['function']:<26}{extra}{probe}"]
    if record["kind"] == "mistake" and record["verdict"] != "named":
        lines.append(f"{'':16}hint: {_short(record['hint']) or '(none)'}")
    if record["kind"] == "variant" and not record["full_marks"]:
        lines.extend(f"{'':16}{check_id}: {_short(message)}" for check_id, message in record["failing"].items())
    if record["error"]:
        lines.append(f"{'':16}{_short(record['error'])}")
    return lines


def summary_line(summary):
    summary = {key: "-" if value is None else value for key, value in summary.items()}
    return (
        f"Catalogue: {summary['mistakes']} mistakes, {summary['variants']} variants. "
        f"Caught {summary['caught']}/{summary['mistakes']} ({summary['caught_percent']}%), "
        f"named {summary['named']}/{summary['mistakes']} ({summary['named_percent']}%; "
        f"by any failing check {summary['named_anywhere_percent']}%), "
        f"{summary['with_collateral']} with collateral losses; edge-value mistakes caught "
        f"{summary['edge_caught']}/{summary['edge_mistakes']}. "
        f"Variants short of full marks: {summary['variants_failed']}/{summary['variants']} "
        f"(false-positive rate {summary['false_positive_percent']}%). {summary['seconds']} s."
    )


def markdown_report(records, summary):
    rows = ["| entry | function | verdict | collateral | first hint of the exercise |", "|---|---|---|---|---|"]
    for r in records:
        hint = r["hint"] if r["kind"] == "mistake" else "; ".join(f"{k}: {v}" for k, v in r["failing"].items())
        collateral = ", ".join(f"{k} -{v:g}" for k, v in r["collateral"].items())
        rows.append(f"| {r['id']} | {r['function']} | {r['verdict']} | {collateral} | {_short(hint, 220).replace('|', '/')} |")
    return "\n".join(rows) + "\n\n" + json.dumps(summary)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        entries = selected_entries(args)
    except KeyError as exc:
        print(f"python -m tools.mistakes: {exc.args[0]}", file=sys.stderr)
        return 2
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - TensorFlow only once the arguments are valid
    from tools.mistakes.grading import evaluate  # noqa: PLC0415 - imports the grader, after TensorFlow is quiet
    from tools.mistakes.probes import probe_disagrees  # noqa: PLC0415

    import_tensorflow()
    start = time.perf_counter()
    records, results = [], []
    with tempfile.TemporaryDirectory(prefix="cvlab-mistakes-") as tmp:
        for number, entry in enumerate(entries, 1):
            if args.format != "text":
                print(f"[{number}/{len(entries)}] {entry.id}", file=sys.stderr, flush=True)
            # student code prints (predict progress bars) and warns (0 / 0); neither belongs in the report
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = evaluate(entry, tmp, include_hidden=not args.visible_only)
                probe = None
                if args.probes and getattr(entry, "probe", None) is not None:
                    disagrees, want, got = probe_disagrees(entry, Path(tmp) / f"{entry.id}-probe")
                    verdict = "real mistake" if disagrees else "AGREES WITH THE REFERENCE"
                    probe = f"{verdict} (reference {_brief(want)}, entry {_brief(got)})"
            results.append(result)
            records.append(as_record(result, probe))
            if args.format == "text":
                print("\n".join(entry_lines(records[-1])), flush=True)
    summary = totals(results, time.perf_counter() - start)
    if args.format == "json":
        print(json.dumps({"entries": records, "totals": summary}, indent=1))
    elif args.format == "markdown":
        print(markdown_report(records, summary))
    else:
        print("\n" + summary_line(summary))
    return 0


def _brief(value):
    import numpy as np  # noqa: PLC0415 - numpy is loaded already; kept local to this formatting helper

    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"array{tuple(np.shape(value))} {value.dtype}"
    return _short(repr(value), 60)


if __name__ == "__main__":
    sys.exit(main())
