"""The ``grade`` command: argument parsing and exit codes only.

Exit codes: 0 graded; 1 graded but below ``--fail-under`` (or ``verify`` found
a problem); 2 usage, configuration or input error (one line on stderr, no
traceback). The work is done by the keyword-only functions it calls.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader import __version__, option_types
from grader.errors import GraderError

EXIT_OK, EXIT_BELOW, EXIT_USAGE = 0, 1, 2
COMMANDS = ("list", "all", "batch", "verify", "data", "export")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own: usage + exit 2, kept, without noise
        self.print_usage(sys.stderr)
        sys.stderr.write(f"grade: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _grading_parser(prog: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="Grade a submission and print the report.")
    parser.add_argument("folder", nargs="?", type=Path, metavar="PATH",
                        help="folder (or file) with the student's code; the same as --submission")
    parser.add_argument("--submission", type=Path, default=None,
                        help="folder (or file) with the student's code "
                             "(default: ./exercises if it exists, else the current folder)")
    parser.add_argument("--format", choices=("text", "json", "md", "html"), default="text")
    parser.add_argument("--output", type=Path, help="write the report to this file instead of stdout")
    parser.add_argument("--fail-under", type=option_types.score, metavar="SCORE",
                        help="exit with code 1 when the score is below SCORE")
    parser.add_argument("--show-hidden", action="store_true", help="show hidden checks' messages (instructors)")
    parser.add_argument("--seed", type=option_types.seed,
                        help="seed for generated inputs, 0 to 2**32-1 (default: derandomized)")
    parser.add_argument("--timeout", type=option_types.timeout_seconds, metavar="S",
                        help="wall-clock limit in seconds for one call into the student's code "
                             "(0.1 to 3600)")
    parser.add_argument("--check", metavar="ID",
                        help="run only the checks whose id (or name) contains this text; comma-separated "
                             "for several (`grade list EXERCISE` shows the ids)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="folder with the datasets for the labs (default: $GRADER_DATA_DIR, the Keras cache, ...)")
    parser.add_argument("--require-isolation", action="store_true",
                        help="refuse to grade unless the sandbox can drop privileges and the network")
    return parser


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise GraderError(f"cannot write {output}: {error.strerror}") from None


def _emit(result, options: argparse.Namespace) -> None:
    from grader import results

    if options.format == "json":
        _write(results.to_json(result, show_hidden=options.show_hidden) + "\n", options.output)
    elif options.format == "md":
        _write(results.to_markdown(result, show_hidden=options.show_hidden), options.output)
    elif options.format == "html":
        _write(results.to_html(result, show_hidden=options.show_hidden), options.output)
    else:
        from grader.report import render_text, show

        if options.output is None:
            show(result, show_hidden=options.show_hidden)
        else:
            _write(render_text(result, show_hidden=options.show_hidden), options.output)


def _grade(exercise_ids: list[str], options: argparse.Namespace, *, run_all: bool) -> int:
    from grader.catalogue import load_catalogue
    from grader.errors import DatasetMissing, SubmissionError
    from grader.results import RunResult
    from grader.runner import default_submission, grade_exercise, missing_submission_result

    if options.folder is not None and options.submission is not None:
        raise GraderError("give the submission once: as PATH or as --submission, not both")
    options.submission = options.folder or options.submission or default_submission()
    if options.data_dir is not None:
        os.environ["GRADER_DATA_DIR"] = str(options.data_dir)
    catalogue = load_catalogue()
    exercises = [catalogue.get(e) for e in exercise_ids] if not run_all else [
        e for e in catalogue if e.implemented
    ]
    if options.check and len(exercises) != 1:
        raise GraderError("--check needs a single exercise (grade EXERCISE --check ID)")
    graded = []
    for exercise in exercises:
        kwargs = dict(exercise=exercise, submission=options.submission, seed=options.seed,
                      timeout_s=options.timeout, only_check=options.check,
                      require_isolation=options.require_isolation)
        if run_all:
            try:
                graded.append(grade_exercise(**kwargs))
            except (SubmissionError, DatasetMissing) as error:  # `grade all` goes on with the others
                graded.append(missing_submission_result(exercise, options.submission, str(error)))
        else:
            graded.append(grade_exercise(**kwargs))
    result = RunResult(graded) if run_all else graded[0]
    _emit(result, options)
    if options.fail_under is not None and result.score < options.fail_under:
        return EXIT_BELOW
    return EXIT_OK


def _list(argv: list[str]) -> int:
    parser = _Parser(prog="grade list", description="List the exercises, or one exercise's checks.")
    parser.add_argument("exercise", nargs="?", help="list this exercise's check ids, names and points")
    options = parser.parse_args(argv)
    from grader.catalogue import load_catalogue
    from grader.report import show_catalogue, show_checks

    catalogue = load_catalogue()
    if options.exercise is None:
        show_catalogue(catalogue)
    else:
        show_checks(catalogue.get(options.exercise))
    return EXIT_OK


def _export(argv: list[str]) -> int:
    parser = _Parser(prog="grade export",
                     description="Write an exercise's checks as a Gradescope autograder or for Otter-Grader.")
    parser.add_argument("target", choices=("gradescope", "otter"))
    parser.add_argument("exercise")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE",
                        help="gradescope: the zip to write; otter: a folder (tests/, autograder.zip), "
                             "or a path ending in .zip for Otter's autograder zip alone")
    parser.add_argument("--hidden-visibility", choices=("after_published", "after_due_date", "hidden"),
                        default="after_published", help="Gradescope visibility of hidden checks")
    options = parser.parse_args(argv)
    from grader.catalogue import load_catalogue
    from grader.export import export_gradescope, export_otter

    catalogue = load_catalogue()
    if options.target == "gradescope":
        written = export_gradescope(exercise_id=options.exercise, out=options.out, catalogue=catalogue,
                                    hidden_visibility=options.hidden_visibility)
    else:
        written = export_otter(exercise_id=options.exercise, out=options.out, catalogue=catalogue)
    sys.stdout.write(f"wrote {written}\n")
    return EXIT_OK


def _verify(argv: list[str]) -> int:
    from grader.verify import main as verify_main

    return verify_main(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``grade`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(
            "usage: grade list [EXERCISE] | grade EXERCISE [PATH] [options] | grade all [options] | grade verify\n"
            "       grade batch DIR --out DIR | grade data status|prepare NAME | "
            "grade export gradescope|otter EXERCISE --out FILE\n"
            "Run `grade EXERCISE --help` for the grading options.\n"
        )
        return EXIT_OK if argv else EXIT_USAGE
    if argv[0] == "--version":
        sys.stdout.write(f"grade {__version__}\n")
        return EXIT_OK
    command, rest = argv[0], argv[1:]
    try:
        if command == "list":
            return _list(rest)
        if command == "verify":
            return _verify(rest)
        if command == "export":
            return _export(rest)
        if command == "data":
            from grader.data_command import main as data_main

            return data_main(rest)
        if command == "batch":
            from grader.batch import main as batch_main

            return batch_main(rest)
        options = _grading_parser(f"grade {command}").parse_args(rest)
        return _grade([command], options, run_all=command == "all")
    except GraderError as error:
        from grader.report import error as print_error

        print_error(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug in the grader: one line, the traceback only on request
        if os.environ.get("GRADER_DEBUG"):
            raise
        from grader.report import error as print_error

        print_error(f"internal error ({type(error).__name__}: {error}); "
                    "run again with GRADER_DEBUG=1 for the traceback and report it")
        return EXIT_USAGE


def entry() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entry()
