"""Grade one exercise of one submission: the keyword-only API behind ``grade``.

``grade_exercise`` finds the student's file, starts a sandbox, runs the
exercise's checks against it and returns an ``ExerciseResult``. It never
raises for anything the submission does; a missing exercise file is a graded
zero (``missing`` set, one message naming the file and where it was looked
for). It raises ``GraderError`` only for problems of invocation (unknown
exercise, a submission path that does not exist, broken catalogue).
"""

from __future__ import annotations

import base64
import tempfile
import time
import traceback
from pathlib import Path

from grader import __version__
from grader.catalogue import Exercise
from grader.checking.check import Check, RunState, Submission
from grader.checking.feedback import (
    ImportCause,
    add_reruns,
    import_cause,
    prints_of_call,
    text_of_failure,
)
from grader.checking.outcomes import (
    CheckFailure,
    CheckTimedOut,
    ChildDied,
    DependencyFailed,
    FunctionDisabled,
    GraderStopped,
    NotImplementedYet,
    StudentRaised,
    collect_notes,
    stop_collecting_notes,
)
from grader.errors import GraderError, MissingSubmissionFile, SubmissionError
from grader.intake.locate import find_exercise_file
from grader.limits import Limits
from grader.options import GradingOptions
from grader.output.plots import draw
from grader.output.results import CheckResult, ExerciseResult
from grader.sandbox import DEFAULT_PREIMPORT, Sandbox

DEFAULT_SUBMISSION = Path("exercises")
TENSORFLOW_PREIMPORT = ("tensorflow", "keras", "keras.layers", "keras.saving", "h5py")


LAB_RUNTIME = Path(__file__).parent / "sandbox" / "runtime" / "lab_model.py"


def locate_lab(exercise: Exercise, path: Path) -> Path:
    """The lab folder: ``path`` itself, or ``path/<lab id>`` (``--submission solutions``)."""
    if not path.is_dir():
        raise SubmissionError(f"submission path {path} is not a folder (a lab is a folder).")
    if (path / exercise.folder).is_dir() and not (path / "model.keras").exists():
        return path / exercise.folder
    lab_files = ("model.keras", "history.json", "answers.toml", "train.py")
    if not any((path / name).exists() for name in lab_files):
        raise MissingSubmissionFile(
            f"no {exercise.folder}/ in {path.resolve()}, and that folder holds none of "
            f"{', '.join(lab_files)}. Put your {exercise.folder}/ folder there, or pass it with --submission PATH."
        )
    return path


def locate_submission(exercise: Exercise, path: Path) -> dict[str, Path]:
    """Map file names to paths: the exercise's file plus the folder's other Python files.

    ``path`` may be the student's file itself, the folder holding it, or (for a
    lab) the lab folder or a folder that contains it.
    """
    if not path.exists():
        raise SubmissionError(f"submission path {path} does not exist.")
    if (path.is_file() and path.is_symlink()) or (path.is_dir() and (path / exercise.file).is_symlink()):
        raise SubmissionError(f"{exercise.file} in {path} is a symbolic link; submit the file itself.")
    if path.is_file():
        if path.suffix not in (".py", ".ipynb"):
            raise SubmissionError(f"{path} is not a Python file (.py) or a notebook (.ipynb).")
        return {exercise.file: path}
    main = find_exercise_file(exercise, path)
    if main is None:
        notebook = f"{exercise.module}.ipynb"
        raise MissingSubmissionFile(
            f"no {exercise.file} in {path.resolve()} (looked for {exercise.file} and {notebook}): "
            f"graded 0. Save your {exercise.file} in that folder, or pass the folder that holds it "
            f"(or the file itself) with --submission PATH."
        )
    path = main.parent  # its folder: the helper modules beside it come along
    files = {p.name: p for p in sorted(path.glob("*.py")) if p.is_file() and not p.is_symlink()}
    files[exercise.file] = main
    return files


def limits_for(exercise: Exercise, time_limit_s: float, call_timeout_s: float = 10.0) -> Limits:
    return Limits(
        cpu_s=int(time_limit_s * 1.5) + 10,
        address_space_mb=None if exercise.uses_tensorflow else exercise.memory_mb,
        rss_mb=exercise.memory_mb if exercise.uses_tensorflow else None,
        file_size_mb=exercise.file_size_mb,
        tasks=256 if exercise.uses_tensorflow else 0,
        output_bytes=exercise.output_kb * 1024,
        start_timeout_s=120.0 if exercise.uses_tensorflow else 30.0,
        import_timeout_s=max(call_timeout_s, 10.0),
    )


def _import_cause(sandbox: Sandbox, exercise: Exercise) -> ImportCause | None:
    """Why the student's file could not be imported, or None when it was."""
    if sandbox.import_failure is None:
        return None
    return import_cause(sandbox.import_failure.description, exercise.file)


def _run_check(check: Check, sub: Submission) -> tuple[str, float, CheckFailure | None, str]:
    """(status, fraction, failure, plain message) for one check."""
    try:
        fraction = check.run(sub)
    except GraderStopped as stopped:
        raise stopped.error from None  # the sandbox cannot start: exit 2, not a student's loss
    except NotImplementedYet as stub:
        sub.last_stub_call, sub.last_stub_function = stub.call, stub.function
        return "skipped", 0.0, None, f"not implemented yet: {stub.function}"
    except DependencyFailed as dependency:  # one cause, said once by the check that found it
        sub.skipped_for = dependency.cause
        return "skipped", 0.0, None, f"skipped: {dependency.cause}"
    except FunctionDisabled as disabled:  # ended earlier in the run: fail at once, do not wait again
        return "timeout" if disabled.failure.kind == "timeout" else "error", 0.0, None, disabled.message
    except ChildDied as died:
        status = "timeout" if died.failure.kind == "timeout" else "error"
        return status, 0.0, None, f"{died.call}: {died.failure.reason}"
    except CheckTimedOut:
        return "timeout", 0.0, None, (
            f"the check ran out of time ({check.timeout_s:g} s) after {sub.calls} calls to your code"
        )
    except StudentRaised as raised:
        return "error", 0.0, raised, ""
    except GraderError:
        raise  # the grader cannot grade (missing dataset, ...): exit 2, not a student's loss
    except CheckFailure as failure:
        fraction = min(max(failure.fraction, 0.0), 1.0)
        return "failed", fraction, failure, ""
    except Exception as error:  # a bug in the grader: never the student's loss of a traceback
        frame = traceback.extract_tb(error.__traceback__)[-1]
        return "error", 0.0, None, (
            f"internal grader error ({type(error).__name__}: {error} at "
            f"{Path(frame.filename).name}:{frame.lineno}); please report it to the course staff"
        )
    fraction = 1.0 if fraction is None else min(max(float(fraction), 0.0), 1.0)
    return ("passed" if fraction == 1.0 else "failed"), fraction, None, ""


PRINTED_LINES_SHOWN = 30  # a debug print in a function the search calls thousands of times


def _capped_lines(text: str, limit: int) -> str:
    """The first ``limit`` lines of ``text``, and how many more were dropped."""
    lines = text.splitlines()
    if len(lines) <= limit:
        return text
    dropped = len(lines) - limit
    return "\n".join(lines[:limit] + [f"… {dropped} more line{'s' if dropped != 1 else ''} were dropped"])


def select_checks(checks: list[Check], selection: str, exercise_id: str) -> list[Check]:
    """The checks ``--check`` names: comma-separated parts, each an exact id or else a substring
    (case-insensitive) of a check's id or name, as pytest's ``-k`` takes them."""
    wanted = [part.strip() for part in selection.split(",") if part.strip()]
    chosen: set[str] = set()
    for part in wanted:
        exact = [c.id for c in checks if c.id == part]
        matches = exact or [c.id for c in checks if part.lower() in c.id.lower() or part.lower() in c.name.lower()]
        if not matches:
            ids = ", ".join(c.id for c in checks)
            raise GraderError(f"{exercise_id} has no check matching {part!r}; its checks are: {ids} "
                              f"(grade list {exercise_id} shows them with their names)")
        chosen.update(matches)
    if not wanted:
        raise GraderError(f"--check {selection!r} names no check")
    return [c for c in checks if c.id in chosen]


def default_submission(cwd: Path | None = None) -> Path:
    """Where a student's files are when no folder is named: ./exercises if it exists, else here."""
    here = Path.cwd() if cwd is None else cwd
    return DEFAULT_SUBMISSION if (here / DEFAULT_SUBMISSION).is_dir() else Path(".")


def grade_exercise(
    *,
    exercise: Exercise,
    submission: Path = DEFAULT_SUBMISSION,
    options: GradingOptions | None = None,
) -> ExerciseResult:
    """Grade ``exercise`` for the submission at ``submission`` (folder or file)."""
    options = options or GradingOptions()
    timeout_s, seed = options.timeout_s, options.seed
    started = time.monotonic()
    folder = None
    converted: tempfile.TemporaryDirectory | None = None  # a notebook's code, as exerciseN.py
    notebook_notes: list[str] = []
    from grader.intake.links import refuse_links  # a linked file or folder: refused, not followed

    refuse_links(exercise, submission)
    try:
        if exercise.is_lab:
            folder = locate_lab(exercise, submission)
        else:
            if not submission.exists():
                raise SubmissionError(f"submission path {submission} does not exist.")
            files = locate_submission(exercise, submission)
    except MissingSubmissionFile as missing:  # a graded zero, not an error of invocation
        return missing_submission_result(exercise, submission, str(missing), missing=True)
    if exercise.is_lab:
        files = {"lab_model.py": LAB_RUNTIME}
        model = folder / "model.keras"
        if model.is_file() and not model.is_symlink():
            files["model.keras"] = model
        module, shown = "lab_model", str(folder)
    else:
        module, shown = exercise.module, str(files[exercise.file])
        if files[exercise.file].suffix == ".ipynb":
            from grader.intake.notebook import extract_code

            code, notebook_notes = extract_code(files[exercise.file], exercise.functions)
            converted = tempfile.TemporaryDirectory(prefix="grade-notebook-")
            files[exercise.file] = Path(converted.name) / exercise.file
            files[exercise.file].write_text(code, encoding="utf-8")
    time_limit = max(exercise.time_limit_s, timeout_s or 0.0)
    call_timeout = max(timeout_s or exercise.call_timeout_s, 120.0 if exercise.is_lab else 0.0)
    sandbox = Sandbox(files, module, limits_for(exercise, time_limit, call_timeout),
                      require_isolation=options.require_isolation,
                      profile="tensorflow" if exercise.uses_tensorflow else "numpy",
                      preimport=DEFAULT_PREIMPORT + (TENSORFLOW_PREIMPORT if exercise.uses_tensorflow else ()))
    if not exercise.is_lab:
        sandbox.spawn()  # the child imports NumPy while we load the checks
    run = RunState()
    try:
        checklist = exercise.checklist()
        checks = list(checklist)
        if options.only_check is not None:
            checks = select_checks(checks, options.only_check, exercise.id)
        if checklist.prepare is not None:
            checklist.prepare()
        if not exercise.is_lab:  # a lab's sandbox starts only when a model passed inspection
            sandbox.wait_ready()
        cause = _import_cause(sandbox, exercise)  # now: a child restarted later may fail in other ways
        results, notes = _run_checks(exercise, checks, sandbox, time.monotonic() + time_limit, call_timeout, seed,
                                     folder, run, cause)
    finally:
        sandbox.close()
        if converted is not None:
            converted.cleanup()
    started_child = bool(sandbox.isolation.limits)  # set once a child reported its isolation
    shown_isolation = sandbox.isolation.describe() if started_child else "not started (no model was loaded)"
    notes[0:0] = [f"sandbox: {shown_isolation}", *notebook_notes]
    if exercise.withheld_note:  # a student kit: the hidden checks are not in it
        notes.append(exercise.withheld_note)
    add_reruns(results, exercise.id, submission, seed)  # every failure ends with the command that re-runs it
    return ExerciseResult(
        exercise=exercise.id,
        title=exercise.title,
        checks=results,
        submission=shown,
        duration_s=time.monotonic() - started,
        grader_version=__version__,
        notes=notes,
        sandbox=sandbox.isolation.describe(),
        figures=[(figure.title, base64.b64encode(draw(figure)).decode()) for figure in run.figures],
        cause=cause.word if cause else "",
        cause_message=cause.message if cause else "",
    )


def _run_checks(exercise: Exercise, checks: list[Check], sandbox: Sandbox, deadline: float,
                call_timeout: float, seed: int | None, folder: Path | None, run: RunState,
                cause: ImportCause | None) -> tuple[list[CheckResult], list[str]]:
    results: list[CheckResult] = []
    notes: list[str] = []
    not_implemented: dict[str, int] = {}
    stub_calls: dict[int, tuple[str, str | None]] = {}  # result index -> (function, the call that raised)
    ledger = run.ledger  # shared by the checks: functions that returned, functions disabled
    for check in checks:
        check_started = time.monotonic()
        base = dict(id=check.id, name=check.name, max_score=check.points, hidden=check.hidden)
        missing = [name for name in check.needs if name not in sandbox.functions]
        if check.per_function and len(missing) < len(check.needs):
            missing = []  # each function earns its own share: a missing one costs only its share
        if cause is not None:  # one cause, one panel: the checks are skipped for it
            results.append(CheckResult(**base, score=0.0, status="timeout" if cause.timed_out else "error",
                                       message=cause.skipped(), skipped_because=cause.word))
            continue
        if missing:
            message = f"{exercise.file} defines no function named {missing[0]!r}"
            results.append(CheckResult(**base, score=0.0, status="error", message=message))
            continue
        if time.monotonic() >= deadline:
            message = f"not run: the exercise's time limit ({exercise.time_limit_s:g} s) ran out"
            results.append(CheckResult(**base, score=0.0, status="timeout", message=message))
            continue
        sub = Submission(sandbox, deadline=min(check_started + check.timeout_s, deadline),
                         call_timeout_s=call_timeout, seed=seed, exercise=exercise, folder=folder, run=run)
        check_notes, token = collect_notes()
        try:
            status, fraction, failure, message = _run_check(check, sub)
        finally:
            stop_collecting_notes(token)
        if failure is not None:
            message = text_of_failure(failure)
        if check_notes and status == "passed" and not check.hidden:
            message = "\n".join(f"Note: {note}" for note in check_notes)
        for note in check_notes if status == "passed" else ():  # a note accompanies a pass only
            if note not in notes:
                notes.append(note)
        if status == "skipped" and sub.last_stub_function:
            stub_calls[len(results)] = (sub.last_stub_function, sub.last_stub_call)
        stdout, stderr = sandbox.output()
        printed = (stdout + stderr).strip()
        if printed and failure is not None and failure.call is not None:  # the reported call's prints only
            alone = prints_of_call(sub, failure.call, sandbox.output)
            printed = printed if alone is None else alone
        printed = _capped_lines(printed, PRINTED_LINES_SHOWN)
        if printed and status != "passed":
            message += f"\nYour code printed:\n{printed}"
        result = CheckResult(**base, score=round(check.points * fraction, 6), status=status, message=message,
                             duration_s=time.monotonic() - check_started, output=printed)
        if failure is not None:
            result.summary = failure.summary
            result.evidence = failure.evidence
            result.rule = failure.rule
            result.hint = failure.hint
            result.details = failure.details
            result.smallest_input = failure.smallest_input
            result.examples_tried = failure.examples_tried
            result.table = failure.table
        if status == "skipped":
            result.not_implemented, result.skipped_because = sub.last_stub_function, sub.skipped_for
        results.append(result)
    for index, (function, call) in stub_calls.items():
        if function in ledger.returned:  # partial, not a stub: it returned for other inputs
            shown = f"\n  call  {call}" if call else ""
            results[index].status = "error"  # as any other unexpected exception (StudentRaised)
            results[index].not_implemented = None
            results[index].summary = (f"{function} raised NotImplementedError on this input, though it returned "
                                      "results for other inputs: a partial implementation fails here.")
            results[index].message = results[index].summary + shown
            if call:
                results[index].evidence = [("call", call)]
        else:
            not_implemented[function] = not_implemented.get(function, 0) + 1
    for function, count in not_implemented.items():
        plural = "s" if count != 1 else ""
        notes.append(f"not implemented yet: {function} ({count} check{plural} skipped)")
    return results, notes


def missing_submission_result(exercise: Exercise, submission: Path, reason: str, *,
                              missing: bool = False) -> ExerciseResult:
    """Zero for every check of an exercise whose file is absent (``grade all`` goes on).

    ``missing``: the file is not there (a graded zero, said once, with how to fix it);
    otherwise ``reason`` (a refused archive, ...) is every check's message.
    """
    what = exercise.file or f"{exercise.folder}/"
    per_check = f"not graded: {what} was not found" if missing else reason
    checks = [
        CheckResult(id=c.id, name=c.name, score=0.0, max_score=c.points, status="error",
                    hidden=c.hidden, message=per_check)
        for c in exercise.checklist()
    ]
    return ExerciseResult(exercise=exercise.id, title=exercise.title, checks=checks,
                          submission=str(submission), duration_s=0.0, grader_version=__version__,
                          notes=[reason, *filter(None, [exercise.withheld_note])], missing=missing,
                          message=reason if missing else "", cause="missing" if missing else "")
