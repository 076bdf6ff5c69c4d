"""The ``grade`` command: every parser, and the one mapping from errors to exit codes.

Exit codes: 0 graded; 1 graded but below ``--fail-under`` (or ``verify`` found
a problem); 2 usage, configuration or input error (one line on stderr, no
traceback); 130 interrupted. The work is done by the keyword-only functions it
calls (``runner``, ``batch.run``, ``verify``, ``data.command``, ``export``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader import __version__, is_student_kit, option_types
from grader.errors import GraderError

EXIT_OK, EXIT_BELOW, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130


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
    if not is_student_kit():  # a student kit holds no hidden check: nothing to show
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
    from grader.output import results

    options.show_hidden = getattr(options, "show_hidden", False)  # absent in a student kit

    if options.format == "json":
        _write(results.to_json(result, show_hidden=options.show_hidden) + "\n", options.output)
    elif options.format == "md":
        _write(results.to_markdown(result, show_hidden=options.show_hidden), options.output)
    elif options.format == "html":
        _write(results.to_html(result, show_hidden=options.show_hidden), options.output)
    else:
        from grader.output.terminal import render_text, show

        if options.output is None:
            show(result, show_hidden=options.show_hidden)
        else:
            _write(render_text(result, show_hidden=options.show_hidden), options.output)


def _grade(exercise_ids: list[str], options: argparse.Namespace, *, run_all: bool) -> int:
    from grader.catalogue import load_catalogue
    from grader.errors import DatasetMissing, SubmissionError
    from grader.options import GradingOptions
    from grader.output.results import RunResult
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
        grading = GradingOptions(seed=options.seed, timeout_s=options.timeout, only_check=options.check,
                                 require_isolation=options.require_isolation)
        kwargs = dict(exercise=exercise, submission=options.submission, options=grading)
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
    from grader.output.terminal import show_catalogue, show_checks

    catalogue = load_catalogue()
    if options.exercise is None:
        show_catalogue(catalogue)
    else:
        show_checks(catalogue.get(options.exercise))
    return EXIT_OK


def _export(argv: list[str]) -> int:
    parser = _Parser(prog="grade export",
                     description="Write an exercise's checks as a Gradescope autograder or for "
                                 "Otter-Grader, or a batch's grades for Canvas or Moodle.")
    parser.add_argument("target", choices=("gradescope", "otter", "canvas", "moodle"))
    parser.add_argument("exercise", nargs="?", help="gradescope, otter: the exercise to export")
    parser.add_argument("--from", dest="source", type=Path, metavar="OUT",
                        help="canvas, moodle: the --out folder of `grade batch` (its journal)")
    parser.add_argument("--id-field", metavar="FIELD",
                        help="canvas: sis_user_id (default), sis_login_id or id; moodle: idnumber "
                             "(default), email or username: the LMS field that holds the batch id")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE",
                        help="gradescope: the zip to write; otter: a folder (tests/, autograder.zip), "
                             "or a path ending in .zip for Otter's autograder zip alone")
    parser.add_argument("--hidden-visibility", choices=("after_published", "after_due_date", "hidden"),
                        default="after_published", help="Gradescope visibility of hidden checks")
    options = parser.parse_args(argv)
    lms = options.target in ("canvas", "moodle")
    if lms and (options.source is None or options.exercise is not None):
        parser.error(f"{options.target} takes --from OUT (a batch's --out folder), no exercise")
    if not lms and (options.exercise is None or options.source is not None):
        parser.error(f"{options.target} takes an EXERCISE, not --from")
    from grader.catalogue import load_catalogue
    from grader.export import export_gradescope, export_otter

    catalogue = load_catalogue()
    if lms:
        from grader.export.lms import export_lms

        written, warnings = export_lms(target=options.target, source=options.source,
                                       out=options.out, catalogue=catalogue,
                                       id_field=options.id_field)
        for warning in warnings:
            sys.stderr.write(f"warning: {warning}\n")
    elif options.target == "gradescope":
        written = export_gradescope(exercise_id=options.exercise, out=options.out, catalogue=catalogue,
                                    hidden_visibility=options.hidden_visibility)
    else:
        written = export_otter(exercise_id=options.exercise, out=options.out, catalogue=catalogue)
    sys.stdout.write(f"wrote {written}\n")
    return EXIT_OK


def _verify(argv: list[str]) -> int:
    parser = _Parser(prog="grade verify",
                     description="Reference solutions score full marks, stubs zero, and every check "
                                 "fails at least one broken variant.")
    parser.add_argument("--jobs", type=option_types.jobs, default=os.cpu_count() or 1, metavar="N",
                        help="broken variants graded in parallel (default: the number of CPUs)")
    parser.add_argument("--exercises", type=_comma_list, metavar="A,B",
                        help="comma-separated ids (default: every implemented exercise)")
    options = parser.parse_args(argv)
    from grader.verify import run

    return run(exercises=options.exercises, jobs=options.jobs)


def _comma_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one id, e.g. exercise1,exercise2")
    return names


def _data(argv: list[str]) -> int:
    from grader.data import datasets

    parser = _Parser(prog="grade data", description="Find, check and fetch the course's datasets.")
    commands = parser.add_subparsers(dest="command", metavar="{status,prepare}", parser_class=_Parser)
    commands.required = True
    status = commands.add_parser("status", help="where each dataset was found, and if verified")
    status.add_argument("--data-dir", help="look here first (before $GRADER_DATA_DIR)")
    prepare = commands.add_parser("prepare", help="make a dataset available (Keras download)")
    prepare.add_argument("name", choices=datasets.NAMES, metavar="NAME",
                         help=f"one of: {', '.join(datasets.NAMES)}")
    prepare.add_argument("--data-dir", help="look here first (before $GRADER_DATA_DIR)")
    options = parser.parse_args(argv)
    from grader.data import command

    if options.command == "status":
        return command.show_status(options.data_dir)
    return command.prepare(options.name, options.data_dir)


def _batch_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="grade batch",
                     description="Grade every submission (sub-folder or .zip) of DIR; re-running resumes.")
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--out", type=Path, required=True, metavar="OUT",
                        help="folder for the journal, gradebook.csv, results/ and summary.html")
    parser.add_argument("--jobs", type=option_types.jobs, metavar="N",
                        help="parallel graders (default: the number of CPUs)")
    parser.add_argument("--exercises", type=_comma_list, metavar="A,B",
                        help="comma-separated exercise ids (default: every one with checks)")
    parser.add_argument("--timeout", type=option_types.timeout_seconds, metavar="S",
                        help="wall-clock limit in seconds for one call into a student's code "
                             "(0.1 to 3600)")
    parser.add_argument("--seed", type=option_types.seed,
                        help="seed for generated inputs (default: derandomized)")
    parser.add_argument("--require-isolation", action="store_true",
                        help="refuse to grade unless the sandbox can drop privileges and the network")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--scheduler", type=_scheduler_address, metavar="tcp://HOST:PORT",
                        help="grade on this Dask cluster (its workers need this same grader installed); "
                             "the journal, gradebook and reports stay here (default: a local pool)")
    return parser


def _scheduler_address(text: str) -> str:
    """A Dask scheduler address: tcp:// or tls://, a host and a port from 1 to 65535."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if parts is None or parts.scheme not in ("tcp", "tls") or not parts.hostname or not port \
            or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r} is not a scheduler address such as tcp://10.0.0.5:8786")
    return text.strip().rstrip("/")


def _batch(argv: list[str]) -> int:
    options = _batch_parser().parse_args(argv)
    from grader.batch.run import grade_batch

    try:
        summary = grade_batch(directory=options.directory, out=options.out, jobs=options.jobs,
                              exercises=options.exercises, progress=not options.no_progress,
                              timeout_s=options.timeout, seed=options.seed,
                              require_isolation=options.require_isolation,
                              scheduler=options.scheduler)
    except KeyboardInterrupt:
        sys.stderr.write("grade batch: interrupted; run the same command again to resume.\n")
        return EXIT_INTERRUPTED
    for warning in summary.warnings:
        sys.stderr.write(f"grade batch: warning: {warning}\n")
    sys.stdout.write(summary.describe() + "\n")
    sys.stdout.flush()
    return EXIT_OK


def _release(argv: list[str]) -> int:
    parser = _Parser(prog="grade release",
                     description="Build the student kit: the exercises' stubs and lab templates, the grader "
                                 "with the public checks only, a README; students install it with pip.")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="a new (or empty) folder to write")
    options = parser.parse_args(argv)
    from grader.release import build_kit

    sys.stdout.write(build_kit(out=options.out).describe() + "\n")
    return EXIT_OK


COMMANDS = {"list": _list, "verify": _verify, "export": _export, "data": _data, "batch": _batch,
            "release": _release}
# Not in a student kit (``grade release`` leaves their modules out): they need the hidden checks,
# the solutions or the mutants.
INSTRUCTOR_COMMANDS = ("verify", "export", "batch", "release")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``grade`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    if (not argv or argv[0] in ("-h", "--help")) and is_student_kit():
        sys.stdout.write("usage: grade list [EXERCISE] | grade EXERCISE [PATH] [options] | grade all [options]\n"
                         "       grade data status|prepare NAME\n"
                         "Run `grade EXERCISE --help` for the grading options.\n")
        return EXIT_OK if argv else EXIT_USAGE
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(
            "usage: grade list [EXERCISE] | grade EXERCISE [PATH] [options] | grade all [options] | grade verify\n"
            "       grade batch DIR --out DIR | grade data status|prepare NAME | "
            "grade export gradescope|otter EXERCISE --out FILE\n"
            "       grade export canvas|moodle --from OUT --out FILE (a batch's grades)\n"
            "       grade release --out DIR (the student kit)\n"
            "Run `grade EXERCISE --help` for the grading options.\n"
        )
        return EXIT_OK if argv else EXIT_USAGE
    if argv[0] == "--version":
        sys.stdout.write(f"grade {__version__}\n")
        return EXIT_OK
    command, rest = argv[0], argv[1:]
    try:
        if command in INSTRUCTOR_COMMANDS and is_student_kit():
            raise GraderError(f"grade {command} is an instructor's command: it is not part of the student kit")
        if command in COMMANDS:
            return COMMANDS[command](rest)
        options = _grading_parser(f"grade {command}").parse_args(rest)
        return _grade([command], options, run_all=command == "all")
    except SystemExit as exit_:  # a parser: --help (0), or a usage error already printed (2)
        return EXIT_OK if exit_.code in (0, None) else EXIT_USAGE
    except GraderError as error:
        from grader.output.terminal import error as print_error

        print_error(str(error))
        return EXIT_USAGE
    except OSError as error:  # an output folder not writable, a full disk while writing the reports
        from grader.output.terminal import error as print_error

        where = f" {error.filename}" if error.filename else ""
        print_error(f"cannot write{where}: {error.strerror or error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug in the grader: one line, the traceback only on request
        if os.environ.get("GRADER_DEBUG"):
            raise
        from grader.output.terminal import error as print_error

        print_error(f"internal error ({type(error).__name__}: {error}); "
                    "run again with GRADER_DEBUG=1 for the traceback and report it")
        return EXIT_USAGE


def entry() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entry()
