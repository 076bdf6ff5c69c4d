"""What the parent accepts from the child: every reply checked against the shape it must have.

The child's runtime runs in the same interpreter as the student's code, so the
student can replace any of it, its send function included. The grader therefore
infers nothing favourable from a reply: a reply with fewer results than calls
(unless it stopped at a raise, as the honest runtime does), a missing or extra
field, an over-long message or a wrong type is a ``ReplyViolation``, which costs
the checks it touched with a one-line reason. It is never a pass or a skip.

Sizes are capped before parsing (frame, JSON document) in ``sandbox.py`` and
``protocol.decode``; this module caps what is inside.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_MESSAGE_CHARS = 2000  # the honest runtime cuts exception messages here
MAX_NAME_CHARS = 200
MAX_FRAMES = 8
MAX_MRO = 64
MAX_FUNCTIONS = 10_000
_RAISED_FIELDS = {"type", "mro", "message", "where", "lineno", "text", "filename", "kind"}


class ReplyViolation(Exception):
    """A reply that the honest runtime could not have sent (one line, for the report)."""


@dataclass
class CallResult:
    """What one call returned: ``value`` or ``raised`` (a dict describing an exception)."""

    value: object = None
    raised: dict | None = None
    args_after: list | None = None
    kwargs_after: dict | None = None
    duration_s: float = 0.0

    @property
    def raised_type(self) -> str | None:
        return self.raised["type"] if self.raised else None

    def raised_subclass_of(self, name: str) -> bool:
        return bool(self.raised) and name in self.raised.get("mro", [])


def _text(value: object, limit: int, what: str) -> str:
    if not isinstance(value, str):
        raise ReplyViolation(f"{what} is not text")
    if len(value) > limit:
        raise ReplyViolation(f"{what} is {len(value)} characters (limit {limit})")
    return value


def checked_raised(raised: object) -> dict:
    """An exception description as the runtime's ``_describe`` makes it, or ReplyViolation."""
    if not isinstance(raised, dict) or not set(raised) <= _RAISED_FIELDS or not {"type", "mro", "message"} <= set(raised):
        raise ReplyViolation("an exception description with missing or unknown fields")
    _text(raised["type"], MAX_NAME_CHARS, "an exception's class name")
    _text(raised["message"], MAX_MESSAGE_CHARS, "an exception message")
    mro = raised["mro"]
    if not isinstance(mro, list) or len(mro) > MAX_MRO:
        raise ReplyViolation("an exception's class list is malformed")
    for name in mro:
        _text(name, MAX_NAME_CHARS, "an exception's base class name")
    where = raised.get("where", [])
    if not isinstance(where, list) or len(where) > MAX_FRAMES:
        raise ReplyViolation("an exception's traceback is malformed")
    for line in where:
        _text(line, 500, "a traceback line")
    for key in ("text", "filename", "kind"):
        if key in raised:
            _text(raised[key], MAX_NAME_CHARS, f"an exception's {key}")
    if "lineno" in raised and raised["lineno"] is not None and type(raised["lineno"]) is not int:
        raise ReplyViolation("an exception's line number is not an integer")
    return raised


def _one_result(entry: object, *, extra: frozenset[str] = frozenset()) -> tuple[object, dict | None]:
    if not isinstance(entry, dict):
        raise ReplyViolation("a result that is not an object")
    keys = set(entry) - extra
    if keys == {"value"}:
        return entry["value"], None
    if keys == {"raised"}:
        return None, checked_raised(entry["raised"])
    raise ReplyViolation("a result with missing or extra fields")


def checked_call(message: dict, *, args: tuple, kwargs: dict, return_args: bool) -> CallResult:
    """One call's reply: exactly a value or a raise, and the arguments after the call when asked."""
    fields = {"nonce", "args_after", "kwargs_after"} if return_args else {"nonce"}
    if return_args and not {"args_after", "kwargs_after"} <= set(message):
        raise ReplyViolation("the reply leaves out the arguments after the call")
    value, raised = _one_result(message, extra=frozenset(fields))
    result = CallResult(value=value, raised=raised)
    if return_args:
        after, kwargs_after = message["args_after"], message["kwargs_after"]
        if not isinstance(after, list) or len(after) != len(args):
            raise ReplyViolation("the reply's arguments after the call do not match the call")
        if not isinstance(kwargs_after, dict) or set(kwargs_after) != set(kwargs):
            raise ReplyViolation("the reply's keyword arguments after the call do not match the call")
        result.args_after, result.kwargs_after = after, kwargs_after
    return result


def checked_batch(message: dict, calls: int) -> list[CallResult]:
    """A sweep's reply: one result per call, or fewer only when the last one raised.

    The honest runtime stops at the first call that raises, so a raise may only
    come last, and a short list must end with one.
    """
    if set(message) != {"nonce", "results"}:
        raise ReplyViolation("a sweep reply with missing or extra fields")
    entries = message["results"]
    if not isinstance(entries, list) or not 0 < len(entries) <= calls:
        raise ReplyViolation(f"a sweep reply with {len(entries) if isinstance(entries, list) else 'no'} "
                             f"results for {calls} calls")
    results = [CallResult(*_one_result(entry)) for entry in entries]
    raised_at = [i for i, r in enumerate(results) if r.raised is not None]
    if raised_at and raised_at[0] != len(results) - 1:
        raise ReplyViolation("a sweep reply that goes on after a call raised")
    if len(results) < calls and not raised_at:
        raise ReplyViolation(f"a sweep reply with {len(results)} results for {calls} calls, none of which raised")
    return results


def checked_hello(message: dict) -> list[str] | dict:
    """The child's answer after importing: its function names, or the import error's description."""
    if set(message) == {"import_error"}:
        return checked_raised(message["import_error"])
    hello = message.get("hello") if set(message) == {"hello"} else None
    names = hello.get("functions") if isinstance(hello, dict) and set(hello) == {"functions"} else None
    if not isinstance(names, list) or len(names) > MAX_FUNCTIONS:
        raise ReplyViolation("a malformed answer after importing the submission")
    return [_text(name, MAX_NAME_CHARS, "a function name") for name in names]
