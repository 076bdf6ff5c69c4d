"""Exports of an exercise's checks to other graders: Gradescope and Otter-Grader.

The generated autograder files import ``grader.export.gradescope_main`` and
``grader.export.otter_check``: those two paths are kept stable.
"""

from grader.export.gradescope import export_gradescope, gradescope_main, gradescope_results
from grader.export.otter import export_otter, otter_check

__all__ = ["export_gradescope", "export_otter", "gradescope_main", "gradescope_results", "otter_check"]
