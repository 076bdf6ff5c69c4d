"""Generate the student stubs in ``exercises/`` from the reference ``solutions/``.

Solutions are the source (Otter Assign's markers). Inside a function, the lines
from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` become a TODO banner and
``raise NotImplementedError(...)``; a block at module level (shared private
helpers) is removed. Signatures and docstrings therefore exist once.
The labs' ``train.py`` templates come from one template the same way
(``grader/lab_templates.py``). ``tests/test_stubgen.py`` regenerates and fails
if anything would change.

Usage: ``python -m grader.stubgen [--check]``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
_DEF = re.compile(r"^\s*def (\w+)\(")
GENERATED_NOTE = (
    "# This file was generated from the reference solution by `make stubs`; edit the\n"
    "# parts marked TODO. Run `grade {exercise}` to check your work.\n"
)


def make_stub(source: str, exercise: str) -> str:
    """Return the stub text for one solution file's text."""
    out: list[str] = []
    current_function = None
    skipping = False
    for number, line in enumerate(source.splitlines(), start=1):
        match = _DEF.match(line)
        if match and not skipping:
            current_function = match.group(1)
        stripped = line.strip()
        if stripped == BEGIN:
            if skipping:
                raise ValueError(f"line {number}: nested {BEGIN}")
            skipping = True
            indent = line[: len(line) - len(line.lstrip())]
            if indent:
                out.append(f"{indent}# TODO: implement {current_function} (see the docstring above).")
                out.append(f'{indent}raise NotImplementedError("{current_function} is not implemented yet")')
            continue
        if stripped == END:
            if not skipping:
                raise ValueError(f"line {number}: {END} without {BEGIN}")
            skipping = False
            continue
        if not skipping:
            out.append(line)
    if skipping:
        raise ValueError(f"{BEGIN} without {END}")
    text = "\n".join(out).rstrip() + "\n"
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return GENERATED_NOTE.format(exercise=exercise) + text


def generate(root: Path, *, check_only: bool = False) -> list[Path]:
    """Write (or, with ``check_only``, compare) every stub; return the files that differ."""
    changed = []
    for solution in sorted((root / "solutions").glob("exercise*.py")):
        stub_path = root / "exercises" / solution.name
        stub = make_stub(solution.read_text(encoding="utf-8"), solution.stem)
        current = stub_path.read_text(encoding="utf-8") if stub_path.exists() else None
        if current != stub:
            changed.append(stub_path)
            if not check_only:
                stub_path.parent.mkdir(exist_ok=True)
                stub_path.write_text(stub, encoding="utf-8")
    changed += _generate_lab_templates(root, check_only=check_only)
    return changed


def _generate_lab_templates(root: Path, *, check_only: bool) -> list[Path]:
    """``exercises/<lab>/train.py`` from the one template (``grader/lab_templates.py``)."""
    from grader.catalogue import load_catalogue
    from grader.lab_templates import render

    changed = []
    for lab in load_catalogue(root / "assignments.toml"):
        if not lab.is_lab:
            continue
        path = root / "exercises" / lab.folder / "train.py"
        text = render(lab)
        if (path.read_text(encoding="utf-8") if path.exists() else None) != text:
            changed.append(path)
            if not check_only:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[1]
    changed = generate(root, check_only="--check" in argv)
    for path in changed:
        print(f"{'would change' if '--check' in argv else 'wrote'} {path.relative_to(root)}")
    return 1 if changed and "--check" in argv else 0


if __name__ == "__main__":
    raise SystemExit(main())
