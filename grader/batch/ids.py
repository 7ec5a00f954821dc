"""Student ids: folder names of an export, checked before anything is graded or written under them.

An id becomes a folder of the output (``DIR/<student>/``), a row of a CSV
file, an nbgrader student and a path nbgrader matches with a regular
expression. A folder whose name could break any of them (a comma, a newline,
a path separator, a leading ``.`` or ``-``, a spreadsheet formula's ``=``)
is refused with one sentence; the others are graded.
"""

import re

#: Letters, digits and ``. _ - @ +``; starting with a letter, digit or ``_``; at most 64 characters.
STUDENT_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}")
#: A hidden folder of a tool (``.git``, ``.ipynb_checkpoints``): skipped without a word.
HIDDEN = re.compile(r"\.[A-Za-z0-9_][A-Za-z0-9_.-]*")
MAX_SHOWN = 80


def is_hidden(name):
    """True for an ordinary hidden folder name (``.git``), which is no student's; ``..\\x`` is not one."""
    return HIDDEN.fullmatch(name) is not None


def id_problem(name):
    """None when ``name`` is a usable student id, else the sentence that says why not and what to do."""
    if STUDENT_ID.fullmatch(name):
        return None
    shown = repr(name if len(name) <= MAX_SHOWN else name[:MAX_SHOWN] + "...")
    return (f"the folder name {shown} is not a usable student id (letters, digits and . _ - @ + only, starting with a "
            "letter, digit or _, at most 64 characters): rename the folder and run again")


def valid_ids(names):
    """``(valid, refused)``: the usable names in order, and ``{name: sentence}`` for the others."""
    valid, refused = [], {}
    for name in names:
        problem = id_problem(name)
        if problem is None:
            valid.append(name)
        else:
            refused[name] = problem
    return valid, refused
