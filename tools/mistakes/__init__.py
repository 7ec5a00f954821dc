"""The catalogue of chapter 9's typical mistakes and equivalent variants, and its runner (issue 21).

``python -m tools.mistakes`` grades every entry with the grader in this
process and reports how many mistakes are caught and named, what else they
cost, and how many correct variants fall short of full marks. The entries
are in the ``entries_*`` and ``variants`` modules; :mod:`.catalogue` lays
them over ``solutions/``; :mod:`.grading` holds the one adapter to the
grader's internals. Development tooling: never part of the student kit.
"""
