"""``make demo``: the reference solutions graded, and one line for each gap.

``python -m grader.demo [--submission solutions]`` grades every implemented
exercise and lab of the catalogue on the reference solutions, as ``grade all``
does, except where a reference cannot be graded on this machine: a lab without a
reference model, or whose dataset is not here. Each of those gets one line
saying what is missing and how to get it, instead of a panel of failures.
Exit status 0 when everything graded scored full marks, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.catalogue import Exercise, load_catalogue
from grader.data import datasets

ROOT = Path(__file__).resolve().parents[1]


def gap(exercise: Exercise, solutions: Path) -> str | None:
    """Why ``exercise``'s reference cannot be graded here (one line), or None when it can."""
    if not exercise.is_lab:
        return None
    dataset = exercise.dataset
    found, _ = datasets.locate(dataset)
    title = datasets.INFO[dataset].title
    if not (solutions / exercise.folder / "model.keras").is_file():
        if found is not None and found.kind == "npz-partial":
            data = datasets.load(dataset, split="both")
            why = (f"{title} training data are not available offline: only {len(data.y_train):,} of "
                   f"{datasets.OFFICIAL_SIZES[dataset][0]:,} training images are here")
        elif found is None:
            why = f"{title} is not here"
        else:
            why = "not trained yet"
        return (f"{exercise.id}: no reference model ({why}). Online: `grade data prepare {dataset}`, "
                f"then `python solutions/train_labs.py {exercise.id}`")
    if found is None:
        how = ("apt-get install dataset-fashion-mnist, or online `grade data prepare fashion_mnist`"
               if dataset == "fashion_mnist" else f"online: `grade data prepare {dataset}`")
        return f"{exercise.id}: not graded: the {title} test set is not here ({how})"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--submission", type=Path, default=ROOT / "solutions",
                        help="the reference solutions' folder (default: solutions/)")
    options = parser.parse_args(argv)
    from grader.output.results import RunResult
    from grader.output.terminal import show
    from grader.runner import grade_exercise

    gaps: list[str] = []
    graded = []
    for exercise in (e for e in load_catalogue() if e.implemented):
        reason = gap(exercise, options.submission)
        if reason is not None:
            gaps.append(reason)
            continue
        graded.append(grade_exercise(exercise=exercise, submission=options.submission))
    result = RunResult(graded)
    show(result)
    for line in gaps:
        sys.stdout.write(f"{line}\n")
    return 0 if result.score == result.max_score else 1


if __name__ == "__main__":
    sys.exit(main())
