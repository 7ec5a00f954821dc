"""Grade tab: run the grader on the student's labs and show the score table with hints."""

import gradio as gr

from cvlab_ch9.grader.core import NOT_IMPLEMENTED, PASSED, labs_with_checks
from cvlab_ch9.grader.report import totals
from cvlab_ch9.impl import NamespaceSource
from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.common import describe_source, resolve_labs_dir
from cvlab_ch9.ui.fields import one_of

ALL_LABS = "all labs"
TABLE_HEADERS = ["status", "check", "points", "what it checks", "hint"]
STATUS_WORDS = {PASSED: "PASS", NOT_IMPLEMENTED: "TODO", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT"}


def lab_choices():
    """``["all labs", <labs with checks>...]``."""
    return [ALL_LABS, *labs_with_checks()]


def result_rows(results):
    """One table row per CheckResult: PASS/TODO/FAIL/ERROR/TIMEOUT, id, "score/max", title, hint."""
    return [
        [
            STATUS_WORDS.get(r.status, r.status.upper()),
            r.id,
            f"{r.score:g}/{r.max_score:g}",
            r.title,
            r.message,
        ]
        for r in results
    ]


def summary_markdown(results, source):
    """Total score, per-lab subtotals and counts by status."""
    score, max_score = totals(results)
    by_lab = {}
    for r in results:
        by_lab.setdefault(r.lab, []).append(r)
    parts = [f"{lab}: {totals(rs)[0]:g}/{totals(rs)[1]:g}" for lab, rs in by_lab.items()]
    counts = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    count_text = ", ".join(f"{n} {status}" for status, n in counts.items())
    return (
        f"### Score: {score:g} / {max_score:g}\n\n"
        f"{describe_source(source)} — {' · '.join(parts)} — {count_text}."
    )


def grade_labs(labs_dir, lab, progress=gr.Progress()):
    """Event (generator): grade the student's labs with the judge (``cvlab_ch9.grader.judge.grade``).

    Each lab's code runs in a sandbox process with per-check time limits and
    is compared with the recorded expectations (what a student's kit has),
    visible checks only. A notebook's functions are checked in this process
    by the notebook's own check helper (:func:`cvlab_ch9.grader.nb.run`, the feedback
    its test cells give). Yields after every lab, so the table fills in lab
    by lab and the Stop button cancels between labs.

    Args:
        labs_dir: the "labs directory" textbox.
        lab: ``"all labs"`` or one lab name.

    Yields:
        (summary markdown, rows ``[status word, check id, "score/max", title, hint]``).
    """
    from cvlab_ch9.grader.judge import grade  # noqa: PLC0415 - imports the checks

    source = resolve_labs_dir(labs_dir)
    choices = lab_choices()
    lab = one_of(lab, "lab", choices)
    labs = choices[1:] if lab == ALL_LABS else [lab]
    results = []
    for i, name in enumerate(labs):
        if isinstance(source, NamespaceSource):
            progress(i / len(labs), desc=f"Checking {name} on {source.name}…")
            results.extend(notebook_results(source, name))
        else:
            progress(i / len(labs), desc=f"Grading {name} (your code runs in a sandbox process)…")
            results.extend(grade(str(source), lab=name, reference="recorded", include_hidden=False))
        yield summary_markdown(results, source), result_rows(results)


def notebook_results(source, lab):
    """CheckResults of ``lab``'s visible checks on a NamespaceSource, with the notebook's wording of each hint."""
    import dataclasses  # noqa: PLC0415

    from cvlab_ch9.grader.core import all_checks  # noqa: PLC0415 - imports the checks
    from cvlab_ch9.grader.nb import notebook_message, run  # noqa: PLC0415

    results = [run(chk.id, source.namespace) for chk in all_checks(lab=lab, include_hidden=False)]
    return [dataclasses.replace(r, message=notebook_message(r)) for r in results]


def build_tab(labs_dir, lab=ALL_LABS):
    """Create the Grade tab's components inside the current ``gr.Tab`` (``lab``: the lab chosen at first)."""
    gr.Markdown(
        "Runs the visible checks of `python -m grader` on the labs directory above, each lab in its own "
        "sandbox process with time limits. Every failed check comes with a hint."
    )
    with gr.Row():
        lab = inputs.Dropdown(lab_choices(), value=lab if lab in lab_choices() else ALL_LABS, label="Lab")
        button = gr.Button("Grade", variant="primary", elem_id="grade-run")
        stop = gr.Button("Stop", variant="stop")
    summary = gr.Markdown(elem_id="grade-summary", min_height=60)
    table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, wrap=True, column_widths=["7%", "23%", "7%", "27%", "36%"])
    grading = button.click(
        grade_labs, inputs=[labs_dir, lab], outputs=[summary, table], api_name="grade", show_progress_on=summary
    )
    stop.click(None, cancels=[grading])
