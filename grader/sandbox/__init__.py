"""The trust boundary: student code runs in a child process, never in the grader.

``Sandbox`` (``process.py``: lifecycle; ``calls.py``: the channel) starts
``runtime/child.py`` under bubblewrap where it works (``launch.py``), else in the
fallback; ``reply.py`` checks every reply; ``tree.py`` watches and kills the
child's processes; ``scratch.py`` prepares its folder; ``interpreter.py`` mirrors
the interpreter for the sandbox uid.
"""

from grader.sandbox.failures import ChildFailure, ImportFailure
from grader.sandbox.process import DEFAULT_PREIMPORT, Sandbox
from grader.sandbox.reply import CallResult

__all__ = ["DEFAULT_PREIMPORT", "CallResult", "ChildFailure", "ImportFailure", "Sandbox"]
