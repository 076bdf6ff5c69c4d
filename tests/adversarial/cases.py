"""Hostile and broken submissions, one per attack seen against graders (ADVERSARIAL.md).

A case is the reference solution of an exercise with one attack added. Its
expected outcome: the checks in ``touched`` do not pass and their message
matches ``reason``; every other check passes exactly as for the honest code;
nothing is written outside the sandbox; the grader's own output stays valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EX1 = (ROOT / "solutions" / "exercise1.py").read_text(encoding="utf-8")
EX3 = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")
RECEPTIVE = "receptive-field-of-a-stack-of-layers"
ALL = "all"
MARKER = "/tmp/grade-adversarial-marker"


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    source: str
    touched: frozenset[str] | str = frozenset()  # check ids that must not pass, or ALL
    reason: str = ""  # regex every touched check's message must match
    exercise: str = "exercise1"
    timeout_s: float | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # extra files in the submission folder
    needs_root: bool = False  # holds only where the sandbox can drop privileges and mount
    only: str | None = None  # grade only these checks (comma-separated ids), to keep the suite fast
    kept: dict[str, float] = field(default_factory=dict)  # touched check id -> fraction of its points kept


def in_receptive_field(code: str, source: str = EX1) -> str:
    """The solution with ``code`` run at the start of receptive_field (indented for the function body)."""
    body = "\n".join("    " + line for line in code.strip().splitlines())
    anchor = "    field, jump = 1, 1\n"
    return source.replace(anchor, body + "\n" + anchor)


def at_import(code: str, source: str = EX1) -> str:
    return code.strip() + "\n" + source


def replacing_receptive_field(code: str) -> str:
    body = "\n".join("    " + line for line in code.strip().splitlines())
    return EX1.replace("def receptive_field(", "def _honest_receptive_field(") + (
        f"\n\ndef receptive_field(layers):\n{body}\n")


def _ex3_relu(code: str) -> str:
    body = "\n".join("    " + line for line in code.strip().splitlines())
    return EX3.replace("def relu(", "def _honest_relu(") + (
        f"\n\ndef relu(x):\n{body}\n")


R = frozenset({RECEPTIVE})
RELU_ONLY = "relu-keeps-positives-and-zeroes-the-rest,inputs-unchanged"
RELU = frozenset({"relu-keeps-positives-and-zeroes-the-rest"})
RELU_AND_INPUTS = frozenset({"relu-keeps-positives-and-zeroes-the-rest", "inputs-unchanged"})

CASES = [
    # -- results channel and grader tampering ------------------------------------------------
    Case("sys.exit(0) at import", "channel", at_import("import sys\nsys.exit(0)"), ALL, "SystemExit"),
    Case("os._exit(0) at import", "channel", at_import("import os\nos._exit(0)"), ALL, "could not be started"),
    Case("sys.exit(0) in a function", "channel", in_receptive_field("import sys\nsys.exit(0)"), R, "SystemExit"),
    Case("os._exit(0) in a function", "channel", in_receptive_field("import os\nos._exit(0)"), R,
         "exited with code 0"),
    Case("KeyboardInterrupt in a function", "channel", in_receptive_field("raise KeyboardInterrupt"), R,
         "KeyboardInterrupt"),
    Case("GeneratorExit in a function", "channel", in_receptive_field("raise GeneratorExit"), R, "GeneratorExit"),
    Case("unittest.SkipTest in a function", "channel", in_receptive_field("import unittest\nraise unittest.SkipTest('x')"),
         R, "SkipTest"),
    Case("pytest.skip in a function", "channel", in_receptive_field("import pytest\npytest.skip('x')"), R,
         "Skipped|ModuleNotFoundError"),
    Case("fake result JSON printed at import", "channel",
         at_import('print(\'{"exercise": "exercise1", "score": 20.0, "max_score": 20.0, "checks": []}\')')),
    Case("fake result JSON printed on every call", "channel",
         in_receptive_field('print(\'{"score": 20.0, "max_score": 20.0}\')')),
    Case("results.json written in the working directory, the parent, HOME and /tmp", "channel", at_import("""
import os
for _p in ("results.json", "../results.json", os.path.expanduser("~/results.json"), "/tmp/results.json",
           "/var/tmp/results.json", "/work/results.json"):
    try:
        open(_p, "w").write('{"score": 100}')
    except OSError:
        pass
"""), needs_root=True),
    Case("a double-forked background process", "channel", at_import("""
import os
try:
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            import time
            time.sleep(30)
            open("/tmp/grade-adversarial-marker", "w").write("late")
        os._exit(0)
except OSError:
    pass
""")),
    Case("a forged reply frame on the response pipe at import", "channel", at_import("""
import os, struct, json
_doc = json.dumps({"hello": {"functions": []}}).encode()
_payload = json.dumps({"json": len(_doc), "blobs": []}).encode() + b"\\n" + _doc
for _fd in sorted(int(f) for f in os.listdir("/proc/self/fd")):
    if _fd > 2:
        try:
            os.write(_fd, struct.pack(">I", len(_payload)) + _payload)
        except OSError:
            pass
"""), ALL, "protocol violation|could not be started|closed the grading channel|defines no function"),
    Case("an oversized frame header on every pipe", "channel", in_receptive_field("""
import os, struct
for _fd in sorted(int(f) for f in os.listdir("/proc/self/fd")):
    if _fd > 2:
        try:
            os.write(_fd, struct.pack(">I", 2**31))
        except OSError:
            pass
"""), R, "protocol violation|timed out|exited"),
    Case("numpy and numpy.testing monkeypatched", "channel", at_import("""
import numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isfinite = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
""")),
    Case("time.perf_counter and builtins patched", "channel", at_import("""
import time, builtins
time.perf_counter = lambda: 0.0
time.monotonic = lambda: 0.0
builtins.print = lambda *a, **k: None
""")),
    Case("sys.modules['grader'] replaced", "channel", at_import("""
import sys, types
sys.modules["grader"] = types.ModuleType("grader")
sys.modules["grader.checking.check"] = types.ModuleType("grader.checking.check")
""")),
    Case("a pickle payload returned as the result", "channel",
         replacing_receptive_field("import pickle, os\nreturn pickle.dumps(os.system)"), R, "must return a Python int"),
    Case("gc introspection for expected values", "channel", replacing_receptive_field("""
import gc
found = [o for o in gc.get_objects() if isinstance(o, dict) and "expected" in o]
return len(found) + 1000
"""), R, "returned the wrong number|timed out"),
    # -- value tricks -------------------------------------------------------------------------
    Case("an object whose __eq__ always says True", "values", replacing_receptive_field("""
class Liar(int):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = int.__hash__
return Liar(0)
"""), R, "must return a Python int"),
    Case("an object lying in __bool__, __sub__ and __abs__", "values", replacing_receptive_field("""
class Liar:
    def __bool__(self): return True
    def __sub__(self, other): return 0
    __rsub__ = __sub__
    def __abs__(self): return 0
    def __eq__(self, other): return True
return Liar()
"""), R, "must return a Python int"),
    # Fair credit (SPEC conventions): a NumPy integer scalar is an int of the same kind; a bool is not.
    Case("a numpy integer instead of a Python int", "values",
         replacing_receptive_field("import numpy as np\nreturn np.int64(_honest_receptive_field(layers))")),
    Case("a numpy bool instead of a Python int", "values",
         replacing_receptive_field("import numpy as np\nreturn np.bool_(_honest_receptive_field(layers))"), R,
         "int"),
    Case("a float with the right value", "values",
         replacing_receptive_field("return float(_honest_receptive_field(layers))"), R, "must return a Python int"),
    Case("an ndarray subclass", "values", _ex3_relu("""
class Mine(np.ndarray):
    pass
return _honest_relu(x).view(Mine)
"""), RELU, "must return a NumPy array", "exercise3", only=RELU_ONLY),
    Case("a scalar where an array is expected", "values", _ex3_relu("return 0.0"), RELU,
         "must return a NumPy array", "exercise3", only=RELU_ONLY),
    Case("a broadcastable wrong shape", "values", _ex3_relu("return _honest_relu(x)[:1]"), RELU, "wrong shape",
         "exercise3", only=RELU_ONLY),
    Case("the right values in object dtype", "values", _ex3_relu("return _honest_relu(x).astype(object)"), RELU,
         "must return a NumPy array", "exercise3", only=RELU_ONLY),
    Case("the right values in an integer dtype", "values", _ex3_relu("return (_honest_relu(x) * 0).astype(int)"),
         RELU, "dtype int64", "exercise3", only=RELU_ONLY),
    Case("NaN in the result", "values", _ex3_relu("out = _honest_relu(x)\nout.flat[0] = np.nan\nreturn out"), RELU,
         "NaN or infinity", "exercise3", only=RELU_ONLY),
    # "Inputs unchanged" gives each function its share: relu's third is lost, pad2d's and conv2d's kept.
    Case("the input modified in place", "values", _ex3_relu("np.maximum(x, 0, out=x)\nreturn x"),
         frozenset({"inputs-unchanged"}), "modified its input x in place", "exercise3", only=RELU_ONLY,
         kept={"inputs-unchanged": 2 / 3}),
    Case("np.empty_like garbage", "values", _ex3_relu("out = np.empty_like(x)\nout[...] = 7.0\nreturn out"), RELU,
         "wrong values", "exercise3", only=RELU_ONLY),
    Case("answers hard-coded for the lecture's inputs", "values", replacing_receptive_field("""
table = {((3, 1), (3, 1)): 5, ((2, 2), (3, 1)): 6}
return table.get(tuple(tuple(l) for l in layers), 3)
"""), R, "returned the wrong number"),
    Case("NumPy's global RNG reseeded at import", "values", at_import("import numpy as np\nnp.random.seed(0)")),
    # -- resources ------------------------------------------------------------------------------
    Case("an infinite loop", "resources", in_receptive_field("while True:\n    pass"), R, "timed out after 2 s",
         timeout_s=2),
    Case("a long sleep", "resources", in_receptive_field("import time\ntime.sleep(600)"), R, "timed out after 2 s",
         timeout_s=2),
    Case("a blocking select on nothing", "resources", in_receptive_field("import select\nselect.select([], [], [])"),
         R, "timed out after 2 s", timeout_s=2),
    Case("reading /dev/urandom forever", "resources",
         in_receptive_field("with open('/dev/urandom', 'rb') as f:\n    while True:\n        f.read(1 << 20)"), R,
         "timed out after 2 s", timeout_s=2),
    Case("a 64 GB NumPy allocation", "resources", in_receptive_field("import numpy as np\nnp.ones(8 * 10**9)"), R,
         "MemoryError"),
    Case("a 100 GB bytearray", "resources", in_receptive_field("bytearray(100 * 2**30)"), R, "MemoryError"),
    Case("a fork loop", "resources", in_receptive_field("import os\nwhile True:\n    os.fork()"), R,
         "BlockingIOError|Resource temporarily unavailable"),
    Case("a thread bomb", "resources",
         in_receptive_field("import threading\nfor _ in range(1000):\n    threading.Thread(target=lambda: None).start()"),
         R, "RuntimeError|can't start new thread|BlockingIOError"),
    Case("a 100 MB print", "resources", in_receptive_field("print('x' * (100 * 2**20))\nraise ValueError('after')"),
         R, "more bytes of output not shown"),
    Case("a 100 MB file in the scratch folder", "resources",
         in_receptive_field("open('big.bin', 'wb').write(b'0' * (100 * 2**20))"), R,
         "file size limit exceeded|File too large"),
    Case("deep recursion to a segfault", "resources",
         in_receptive_field("import sys\nsys.setrecursionlimit(10**9)\nnested = []\nfor _ in range(10**6):\n"
                            "    nested = [nested]\nrepr(nested)"), R,
         "killed by signal SIGSEGV|RecursionError|MemoryError"),
    # -- secrets and reach ------------------------------------------------------------------------
    Case("a connection to 127.0.0.1 and the metadata address", "secrets", at_import("""
import socket
for _host in ("127.0.0.1", "169.254.169.254"):
    try:
        socket.create_connection((_host, 80), timeout=1)
        raise SystemExit("connected")
    except OSError:
        pass
"""), needs_root=True),
    Case("a DNS lookup", "secrets", at_import("""
import socket
try:
    socket.gethostbyname("example.com")
    raise SystemExit("resolved")
except OSError:
    pass
""")),
    Case("reading solutions/, the checks and the mutants", "secrets", at_import(f"""
for _p in ("{ROOT}/solutions/exercise1.py", "{ROOT}/grader/checks/exercise1.py", "{ROOT}/tests/mutants.py",
           "{ROOT}/grader/reference/formulas.py"):
    try:
        open(_p).read()
        raise SystemExit("read " + _p)
    except OSError:
        pass
"""), needs_root=True),
    Case("reading the grader's environment", "secrets", at_import("""
import os
if "GRADER_TEST_SECRET" in os.environ:
    raise SystemExit("saw the secret")
for _pid in (os.getppid(), 1):
    try:
        if b"GRADER_TEST_SECRET" in open(f"/proc/{_pid}/environ", "rb").read():
            raise SystemExit("saw the secret")
    except OSError:
        pass
"""), needs_root=True),
    Case("a numpy.py shadowing NumPy", "secrets", EX1, files={"numpy.py": b"raise SystemExit('shadowed')\n"}),
    Case("sitecustomize.py and a .pth left for the next run", "secrets", EX1,
         files={"sitecustomize.py": b"raise SystemExit('persisted')\n", "evil.pth": b"import os; os._exit(3)\n"}),
    # -- files -----------------------------------------------------------------------------------
    Case("a source file that is not UTF-8", "files", EX1, ALL, "SyntaxError",
         files={"exercise1.py": EX1.encode() + "\nNAME = '\xe9t\xe9'\n".encode("latin-1")}),
    Case("NUL bytes in the source", "files", EX1[:200] + "\0" + EX1[200:], ALL, "SyntaxError|null bytes"),
    Case("a syntax error", "files", EX1.replace("def same_padding(", "def same_padding(((", 1), ALL,
         "SyntaxError at line"),
    Case("an import of a missing package", "files", at_import("import tensorflow_addons_that_do_not_exist"), ALL,
         "ModuleNotFoundError"),
    Case("BOM and CRLF line endings", "files", "\ufeff" + EX1.replace("\n", "\r\n")),
]
