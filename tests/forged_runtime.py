"""A patch of the child's runtime, as a hostile submission would write it.

The runtime runs beside the student's code, so a submission can replace its send
function: this one cuts every sweep reply to its first result and drops the
arguments-after-the-call fields. Appended to a submission's source.
"""

FORGING_RUNTIME = """

import sys as _forger_sys
_forger_main = _forger_sys.modules["__main__"]
_forger_honest_send = _forger_main._send
def _forger_send(message):
    message = dict(message)
    if "results" in message:
        message["results"] = message["results"][:1]
    message.pop("args_after", None)
    message.pop("kwargs_after", None)
    _forger_honest_send(message)
_forger_main._send = _forger_send
"""
