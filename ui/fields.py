"""Checking the values that reach the event functions: one sentence for each bad value.

The components of :mod:`cvlab_ch9.ui.inputs` hand values on unchecked, and the API
can send anything. The event functions turn them into ints, floats and
choices with these helpers, or into a ``gr.Error`` that names the field,
the value received and what would work.
"""

import math
import numbers

from cvlab_ch9.ui.common import user_error

#: Longest list of choices spelled out in a message.
LIST_LIMIT = 12
_SHOWN_CHARS = 40


def listing(names, limit=LIST_LIMIT):
    """``"a, b, c"``; a longer list is cut: ``"a, b, …, l (40 in all)"``."""
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit - 1])}, …, {names[-1]} ({len(names)} in all)"


def shown(value):
    """How a received value is quoted in a message: ``'abc'``, ``500``, ``nothing``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "nothing"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _as_float(value):
    """``value`` as a finite float (numbers and numeric strings), else None (None, "", NaN, inf, bool, lists)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def whole_number(value, label, low, high):
    """``value`` as an int from ``low`` to ``high`` (a float is rounded to the nearest whole number).

    Args:
        value: what the field sent (int, float, numeric str, or anything else).
        label: the field's name as the UI shows it, e.g. ``"Filters"``.

    Raises:
        gr.Error: not a number, or outside ``low..high``.
    """
    number = _as_float(value)
    if number is None or not low <= round(number) <= high:
        raise user_error(f"{label} must be a whole number from {low} to {high}; got {shown(value)}.")
    return int(round(number))


def number_between(value, label, low, high):
    """``value`` as a float from ``low`` to ``high``; gr.Error otherwise (see :func:`whole_number`)."""
    number = _as_float(value)
    if number is None or not low <= number <= high:
        raise user_error(f"{label} must be a number from {low:g} to {high:g}; got {shown(value)}.")
    return number


def one_of(value, label, choices):
    """``value`` when it is one of ``choices``; else gr.Error "Unknown <label> …; choose one of: …".

    Args:
        label: what is chosen, lower case, e.g. ``"model"`` or ``"class"``.
    """
    choices = list(choices)
    if value in choices:
        return value
    if value is None or value == "":
        raise user_error(f"No {label} chosen; choose one of: {listing(choices)}.")
    raise user_error(f"Unknown {label} {shown(value)}; choose one of: {listing(choices)}.")


def name_list(values):
    """A multiselect's value as a list of non-empty names (one name, None or a list may arrive)."""
    if values is None or values == "":
        return []
    if isinstance(values, str):
        return [values]
    if not isinstance(values, (list, tuple)):
        raise user_error(f"Expected a list of names; got {shown(values)}.")
    return [v for v in values if v]
