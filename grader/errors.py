"""One error hierarchy for the toolkit.

``GraderError`` and its subclasses are problems the user can fix (exit code 2,
message on stderr, no traceback). A ``CheckFailure`` is not an error of the
toolkit: it is the outcome of a check that the submission did not pass.
"""

from __future__ import annotations


class GraderError(Exception):
    """A problem with how the grader was invoked or configured (exit code 2)."""


class ConfigError(GraderError):
    """assignments.toml or a check module is inconsistent."""


class SubmissionError(GraderError):
    """The submission cannot be graded at all (missing file, unreadable archive, ...)."""


class MissingSubmissionFile(SubmissionError):
    """The exercise's file (or lab folder) is not in the submission: graded as zero, not an error."""


class SandboxUnavailable(GraderError):
    """The sandbox cannot grade: isolation was required and did not hold, or the child failed
    before any student code ran. Refused rather than run unsandboxed or scored as the student's fault."""


class DatasetMissing(GraderError):
    """A dataset is in none of the places looked (the message names them and how to get it)."""


class DatasetCorrupt(GraderError):
    """A dataset file is there but is not what it should be (checksum, format, contents)."""
