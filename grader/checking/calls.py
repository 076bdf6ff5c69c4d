"""A call of a student's function as data, and how values and calls are shown to a student.

``Call`` carries the function name and the arguments sent; its rendering
(``conv_output_size(7, 3, stride=2)``, arrays by shape) is for messages only: the
name and the arguments are read from the fields, never cut back out of the text.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


def is_array(value: object) -> bool:
    """Whether ``value`` is a NumPy array, without importing NumPy (exercises 1 and 2 never need it:
    no value can be an array before NumPy is loaded)."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def format_value(value: object, limit: int = 120) -> str:
    """A short, student-readable rendering of an argument or a returned value."""
    if is_array(value):
        return f"array(shape={tuple(value.shape)}, dtype={value.dtype})"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_argument(name: str, value: object) -> str:
    """``stride=2``; an array as ``x.shape=(2, 7, 7, 3)`` (STYLE.md's evidence rows)."""
    if is_array(value):
        return f"{name}.shape={tuple(value.shape)}"
    return f"{name}={format_value(value)}"


@dataclass(frozen=True, eq=False)
class Call:
    """One call of a student's function, as data: the name, the positional and keyword arguments.

    ``str(call)`` renders it for a message (``conv_output_size(7, 3, stride=2)``, arrays
    by shape); ``function`` and ``arguments_text`` are read from the fields, never parsed
    back out of the rendering. ``kwargs`` may hold NumPy arrays (the values sent).
    """

    function: str
    args: tuple = ()
    kwargs: dict | None = None

    @property
    def arguments_text(self) -> str:
        """The arguments alone: ``7, 3, stride=2`` (arrays by shape)."""
        parts = [format_value(a) for a in self.args]
        parts += [format_argument(k, v) for k, v in (self.kwargs or {}).items()]
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.function}({self.arguments_text})"


@dataclass(frozen=True)
class Shown:
    """An argument shown as given text in a ``Call``'s rendering (``<lenet layers>``)."""

    text: str

    def __repr__(self) -> str:
        return self.text


def format_call(function: str, args: tuple = (), kwargs: dict | None = None) -> str:
    """``conv_output_size(7, 3, stride=2)``, arrays shown by shape (the rendering of a ``Call``)."""
    return str(Call(function, tuple(args), kwargs))
