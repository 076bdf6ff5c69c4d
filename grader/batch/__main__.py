"""``python -m grader.batch DIR --out OUT``: the same as ``grade batch``."""

from grader.cli import main

raise SystemExit(main(["batch", *__import__("sys").argv[1:]]))
