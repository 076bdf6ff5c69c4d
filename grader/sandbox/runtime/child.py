"""The sandboxed child: imports one student module and answers calls.

Run as ``python -s -S -P -B -u child.py CONFIG_JSON`` by ``grader.sandbox.process``
(not ``-I``: that would ignore the ``PYTHONHASHSEED`` the parent sets in the
child's otherwise empty environment); never imported by the grader. Order
matters and is the security argument:

1. load the wire format (``protocol.py``, by path) and NumPy, and the modules the
   configuration asks to pre-import, while still trusted;
2. set resource limits (hard = soft, so they cannot be raised again);
3. under bubblewrap: remount the scratch folders with an inode cap, then drop
   every capability (bounding and ambient sets included) and set no_new_privs;
   without bubblewrap, as root: leave the network namespace, make the file
   system read-only and drop to the unprivileged uid/gid chosen by the parent;
4. report what held, then put the submission's folder on ``sys.path`` and import it;
5. answer ``call`` requests until the parent closes the request pipe.

Everything the child sends is plain data (see ``protocol.py``); the parent
decides what it means.
"""

import ctypes
import importlib
import importlib.util
import json
import os
import sys
import traceback

try:
    import resource
except ImportError:  # Windows: no rlimits (the parent's Platform knows, and the report says so)
    resource = None

CONFIG = json.loads(sys.argv[1])
# Started with -S: no site module, no .pth files (an editable install's finder
# would otherwise make the grader importable); site-packages are added by hand.
sys.path.extend(CONFIG.get("site_packages", []))

_spec = importlib.util.spec_from_file_location(
    "_grader_protocol", os.path.join(os.path.dirname(os.path.abspath(__file__)), "protocol.py")
)
protocol = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(protocol)

# The stdio transport (no extra file descriptors, e.g. Windows): requests arrive on stdin, replies
# leave on stdout. Both move to descriptors of their own before anything else runs; stdin then
# reads nothing and fd 1 becomes a copy of stderr, so no print (a pre-import's, the student's)
# can reach the replies.
if CONFIG.get("transport") == "stdio":
    CONFIG["request_fd"], CONFIG["response_fd"] = os.dup(0), os.dup(1)
    _nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(_nothing, 0)
    os.close(_nothing)
    os.dup2(2, 1)

# Trusted probes (exercise 7): they call a student function and answer with plain data.
_probes_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "transfer.py")
probes = None
if os.path.isfile(_probes_path):
    _probe_spec = importlib.util.spec_from_file_location("_grader_transfer", _probes_path)
    probes = importlib.util.module_from_spec(_probe_spec)
    _probe_spec.loader.exec_module(probes)

# Pre-imports run with stderr silenced: TensorFlow's C++ start-up log lines are not the student's output.
_saved_stderr = os.dup(2)
_null = os.open(os.devnull, os.O_WRONLY)
os.dup2(_null, 2)
try:
    for _name in CONFIG.get("preimport", []):
        try:
            importlib.import_module(_name)
        except Exception:  # an optional convenience; the student's import will report it
            pass
finally:
    os.dup2(_saved_stderr, 2)
    os.close(_saved_stderr)
    os.close(_null)

REQUESTS = os.fdopen(CONFIG["request_fd"], "rb", buffering=0)
RESPONSES = os.fdopen(CONFIG["response_fd"], "wb", buffering=0)
SUBMISSION_DIR = CONFIG["submission_dir"]


def _send(message: dict) -> None:
    try:
        payload = protocol.encode(message)
    except Exception as error:  # an unencodable or oversized value is the student's fault
        payload = protocol.encode({"nonce": message.get("nonce"), "fault": f"{type(error).__name__}: {error}"[:500]})
    RESPONSES.write(protocol.frame(payload))


def _set_limit(kind: int, value: int | None) -> None:
    if value is None:
        return
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass  # reported by the parent's own probe of what holds on this platform


def _count_user_tasks(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields.get("Threads", "1"))
        except (OSError, KeyError, ValueError):
            continue
    return count


def _apply_limits(limits: dict, drop_to_uid: int | None) -> bool:
    """Set the rlimits (hard = soft); False where there are none (or the parent's Platform says so)."""
    if resource is None or not CONFIG.get("rlimits", True):
        return False
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_CPU, limits.get("cpu_s"))
    if limits.get("address_space_mb"):
        _set_limit(resource.RLIMIT_AS, limits["address_space_mb"] * 1024 * 1024)
    if limits.get("file_size_mb"):
        _set_limit(resource.RLIMIT_FSIZE, limits["file_size_mb"] * 1024 * 1024)
    _set_limit(resource.RLIMIT_NOFILE, limits.get("open_files"))
    extra_tasks = limits.get("tasks")
    if extra_tasks is not None and sys.platform.startswith("linux"):
        # RLIMIT_NPROC counts every task (process or thread) of the real uid.
        if drop_to_uid is not None:
            _set_limit(resource.RLIMIT_NPROC, 1 + extra_tasks)
        else:
            _set_limit(resource.RLIMIT_NPROC, _count_user_tasks(os.getuid()) + extra_tasks)
    return True


def _leave_network() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(0x40000000) == 0  # CLONE_NEWNET
    except (OSError, AttributeError):
        return False


_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18


def _isolate_filesystem(workdir: str, hide: list) -> bool:
    """A private mount namespace: / read-only, fresh small /tmp and /dev/shm, ``hide`` covered.

    Only the work folder stays writable, so nothing the submission writes
    outlives its run or lands outside its scratch folder (root only).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        mount = libc.mount
        mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    except (OSError, AttributeError):
        return False
    if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
        return False
    if mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return False
    for path in hide:
        if os.path.isdir(path):
            mount(b"tmpfs", path.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV | _MS_RDONLY, b"size=4k,mode=000")
    if mount(workdir.encode(), workdir.encode(), None, _MS_BIND, None) != 0:
        return False
    if mount(None, b"/", None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY, None) != 0:
        return False
    for scratch in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(scratch):
            mount(b"tmpfs", scratch.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"size=16m,mode=1777")
    return True


_PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4
_PR_SET_SECUREBITS = 28
# noroot, no_setuid_fixup, keep_caps off, no_cap_ambient_raise: each locked (uid 0 of the
# namespace never regains capabilities, not even through execve).
_SECUREBITS_LOCKED = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80


def _cap_scratch(folders: list, size_bytes: dict, inodes: int) -> bool:
    """Remount bubblewrap's tmpfs of each scratch folder capped in bytes and inodes (bubblewrap mode).

    bubblewrap caps only the size; the inode cap needs this remount, made with the
    CAP_SYS_ADMIN the child holds in its own user namespace until ``_drop_capabilities``.
    A remount, not a fresh tmpfs: what bubblewrap bound inside it stays visible (a
    virtual environment under /tmp, whose lazily imported modules the student needs).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    done = True
    for folder in folders:
        options = f"size={int(size_bytes[folder])},nr_inodes={int(inodes)}".encode()
        if libc.mount(b"tmpfs", folder.encode(), b"tmpfs", _MS_REMOUNT | _MS_NOSUID | _MS_NODEV, options) != 0:
            done = False
    return done


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> bool:
    """Empty every capability set and forbid regaining any; True when /proc confirms all are zero."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_SECUREBITS, _SECUREBITS_LOCKED, 0, 0, 0)
        for cap in range(64):
            libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
        libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
        libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), (_CapData * 2)())
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status if line.startswith("Cap"))
        return all(int(fields[name], 16) == 0 for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"))
    except (OSError, AttributeError, KeyError, ValueError):
        return False


def _drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def _student_frames(tb) -> list[str]:
    """Traceback lines from the student's own files only (no grader frames)."""
    lines = []
    for frame in traceback.extract_tb(tb):
        if os.path.dirname(os.path.abspath(frame.filename)) == SUBMISSION_DIR:
            code = (frame.line or "").strip()
            lines.append(f"{os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name}: {code}")
    return lines[-8:]


def _describe(error: BaseException) -> dict:
    try:
        message = str(error)
    except BaseException:  # a hostile __str__
        message = "<unprintable message>"
    cls = type(error)
    description = {
        "type": cls.__name__,
        "mro": [c.__name__ for c in cls.__mro__],
        "message": message[:2000],
        "where": _student_frames(error.__traceback__),
    }
    if isinstance(error, SyntaxError):
        description["lineno"] = error.lineno
        description["text"] = (error.text or "").strip()[:200]
        description["filename"] = os.path.basename(error.filename or "")
    return description


def _import_submission():
    sys.path[:] = [SUBMISSION_DIR] + [p for p in sys.path if p and os.path.isabs(p)]
    return importlib.import_module(CONFIG["module"])


def main() -> None:
    # The child runs as a uid of its own (dropped to here, or started as by bubblewrap): count from 1.
    own_uid = CONFIG.get("uid") if CONFIG.get("uid") is not None else (CONFIG.get("private_uid") or None)
    rlimits = _apply_limits(CONFIG.get("limits", {}), own_uid)
    uid = os.getuid() if hasattr(os, "getuid") else None  # Windows has no uids
    isolation = {"network": False, "uid": uid, "filesystem": False, "rlimits": rlimits}
    bubblewrap = CONFIG.get("bubblewrap")
    if bubblewrap:
        isolation["scratch_inodes"] = _cap_scratch(bubblewrap["scratch"], bubblewrap["scratch_bytes"],
                                                   bubblewrap["inodes"])
        isolation["capabilities_dropped"] = _drop_capabilities()
        isolation["network"] = isolation["filesystem"] = True  # the namespaces bubblewrap made
        isolation["stdlib_readable"] = os.access(os.path.dirname(os.__file__), os.R_OK | os.X_OK)
    elif CONFIG.get("uid") is not None:
        if CONFIG.get("isolate_network", True):
            isolation["network"] = _leave_network()
        isolation["filesystem"] = _isolate_filesystem(CONFIG["workdir"], CONFIG.get("hide", []))
        _drop_privileges(CONFIG["uid"], CONFIG["gid"])
        isolation["uid"] = os.getuid()
        isolation["stdlib_readable"] = os.access(os.path.dirname(os.__file__), os.R_OK | os.X_OK)
    os.chdir(CONFIG["workdir"])
    _send({"isolation": isolation})  # before any student code runs: it cannot be forged
    try:
        module = _import_submission()
    except BaseException as error:
        _send({"import_error": _describe(error)})
        return
    functions = sorted(n for n in dir(module) if callable(getattr(module, n, None)))
    _send({"hello": {"functions": functions}})
    while True:
        payload = protocol.read_frame_blocking(REQUESTS)
        if payload is None:
            return
        request = protocol.decode(payload)
        nonce = request.get("nonce")
        if "calls" in request:
            results = []
            for args, kwargs in request["calls"]:
                results.append(_call(module, request["fn"], args, kwargs, False))
                if "raised" in results[-1]:
                    break  # the grader stops at the first failure; the rest would only cost time
            _send({"nonce": nonce, "results": results})
        else:
            if request.get("save_keras"):
                response = _save_model(module, request["fn"], nonce)
            elif request.get("probe"):
                response = _probe(module, request)
            else:
                response = _call(module, request["fn"], request.get("args", []), request.get("kwargs", {}),
                                 bool(request.get("return_args")))
            response["nonce"] = nonce
            _send(response)


def _save_model(module, name: str, nonce: str) -> dict:
    """Build a Keras model with the student's function and save it as a .keras file in the work folder."""
    file_name = f"model-{str(nonce)[:16]}.keras"
    try:
        model = getattr(module, name)()
        model.save(os.path.join(CONFIG["workdir"], file_name))
    except BaseException as error:
        return {"raised": _describe(error)}
    return {"value": {"saved_keras": file_name}}


def _probe(module, request: dict) -> dict:
    """Run a trusted probe of ``transfer.py`` on the student's function (plain data back)."""
    probe = probes.PROBES.get(request["probe"]) if probes is not None else None
    if probe is None:
        return {"raised": {"type": "KeyError", "mro": ["KeyError"], "message": "unknown probe", "where": []}}
    try:
        value = probe(getattr(module, request["fn"]), *request.get("args", []), **request.get("kwargs", {}))
    except BaseException as error:
        return {"raised": _describe(error)}
    return {"value": value}


def _call(module, name: str, args: list, kwargs: dict, return_args: bool) -> dict:
    """Call one student function; describe what it returned or raised."""
    try:
        value = getattr(module, name)(*args, **kwargs)
    except BaseException as error:
        response = {"raised": _describe(error)}
    else:
        response = {"value": value}
    if return_args:
        response["args_after"] = args
        response["kwargs_after"] = kwargs
    return response

if __name__ == "__main__":
    main()
