"""Grading a class on Dask: instructor tooling, left out of the student kit.

Each submission (one student's code for one lab) is one task
(:mod:`cvlab_ch9.grader.batch.tasks`): a Dask worker grades it with the judge, whose
TensorFlow import and reference expectations it keeps warm across tasks,
while every submission still runs in its own fresh sandbox process.
:mod:`cvlab_ch9.grader.batch.engine` sends the tasks to an in-process ``LocalCluster``
(default) or to an existing cluster (``--scheduler tls://HOST:PORT``) and
hands every result, as it arrives, to ONE writer in the calling process:
:class:`cvlab_ch9.grader.batch.verdicts.VerdictStore`, which records each verdict once,
keyed by student, lab, code hash and grader fingerprint, so a retried task
or a re-run never counts twice and a re-run skips what is already recorded.
Every result carries its worker's kernel confinement
(:mod:`cvlab_ch9.grader.batch.confinement`: the reports' sentence, ``--require-isolation``).

Two front ends use it: ``python -m grader batch SUBMISSIONS_DIR --out DIR``
(:mod:`cvlab_ch9.grader.batch.cli`, one folder of ``<lab>.py`` files per student) and
``python -m course grade`` (nbgrader notebooks, :mod:`course.pipeline`).
"""
