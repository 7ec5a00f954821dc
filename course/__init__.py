"""The nbgrader course of the chapter 9 labs (instructor side).

``python -m course release`` regenerates the source notebooks from
``solutions/`` and the release versions; ``python -m course grade`` autogrades
every submission in ``submitted/`` in parallel, writes feedback and exports
grades. See :mod:`course.pipeline`.
"""
