"""``grade verify``: the checks are honest.

1. the reference solutions score full marks on every implemented exercise;
2. the stubs score zero, every check "not implemented yet";
3. every check fails on at least one broken variant kept in ``tests/mutants.py``
   (a check that cannot fail is a defect), and each variant fails the check it
   names, with its pinned message.

Exit code 0 when all hold, 1 otherwise.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from grader.catalogue import Exercise, load_catalogue
from grader.errors import GraderError
from grader.runner import grade_exercise


@dataclass
class ExerciseVerdict:
    exercise: str
    problems: list[str] = field(default_factory=list)
    mutants: int = 0
    checks: int = 0
    uncaught: list[str] = field(default_factory=list)


def load_mutants(root: Path) -> list:
    path = root / "tests" / "mutants.py"
    if not path.is_file():
        raise GraderError(f"grade verify needs {path} (the broken variants); run it from the course repository.")
    spec = importlib.util.spec_from_file_location("_grade_mutants", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return list(module.ALL)


def _grade_mutant(root: str, exercise_id: str, index: int) -> dict[str, str]:
    """Grade one broken variant (in a worker process); {failing check id: its message}."""
    from grader.catalogue import load_catalogue

    exercise = load_catalogue(Path(root) / "assignments.toml").get(exercise_id)
    mutant = [m for m in load_mutants(Path(root)) if m.exercise == exercise_id][index]
    with tempfile.TemporaryDirectory(prefix="grade-verify-") as scratch:
        (Path(scratch) / exercise.file).write_text(mutant.source(), encoding="utf-8")
        result = grade_exercise(exercise=exercise, submission=Path(scratch))
    return {c.id: c.message for c in result.checks if c.status != "passed"}


def verify_exercise(exercise: Exercise, root: Path, mutants: list, jobs: int = 1) -> ExerciseVerdict:
    verdict = ExerciseVerdict(exercise.id)
    solution = grade_exercise(exercise=exercise, submission=root / "solutions")
    verdict.checks = len(solution.checks)
    for check in solution.checks:
        if check.status != "passed":
            verdict.problems.append(f"solution fails {check.id}: {check.message.splitlines()[0] if check.message else check.status}")
    stub = grade_exercise(exercise=exercise, submission=root / "exercises")
    if stub.score != 0:
        verdict.problems.append(f"the stub scores {stub.score:g}, not 0")
    for check in stub.checks:
        if check.status != "skipped" or not check.message.startswith("not implemented yet"):
            verdict.problems.append(f"stub: {check.id} is {check.status}, not 'not implemented yet'")
    caught: set[str] = set()
    own = [m for m in mutants if m.exercise == exercise.id]
    verdict.mutants = len(own)
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
        outcomes = list(pool.map(_grade_mutant, [str(root)] * len(own), [exercise.id] * len(own), range(len(own))))
    for mutant, failing in zip(own, outcomes, strict=True):
        caught |= set(failing)
        message = failing.get(mutant.check)
        if message is None:
            verdict.problems.append(f"mutant '{mutant.name}' passes {mutant.check}")
        elif mutant.message not in message:
            verdict.problems.append(f"mutant '{mutant.name}': {mutant.check} fails without the pinned message")
    verdict.uncaught = [c.id for c in solution.checks if c.id not in caught]
    verdict.problems += [f"no broken variant fails {check_id}" for check_id in verdict.uncaught]
    return verdict


def run(*, exercises: list[str] | None = None, jobs: int = 1) -> int:
    """``grade verify``: print one verdict per exercise; 0 when every check is honest, else 1."""
    catalogue = load_catalogue()
    root = catalogue.path.parent
    mutants = load_mutants(root)
    chosen = [catalogue.get(e) for e in exercises] if exercises else [
        e for e in catalogue if e.implemented and not e.is_lab]
    verdicts = [verify_exercise(e, root, mutants, jobs) for e in chosen]
    failed = False
    for verdict in verdicts:
        state = "ok" if not verdict.problems else "PROBLEMS"
        sys.stdout.write(f"{verdict.exercise}: {verdict.checks} checks, {verdict.mutants} broken variants, "
                         f"{state}\n")
        for problem in verdict.problems:
            sys.stdout.write(f"  - {problem}\n")
        failed |= bool(verdict.problems)
    sys.stdout.write("grade verify: " + ("problems found\n" if failed else "all checks are honest\n"))
    return 1 if failed else 0
