"""Checks for lab_mnist: a trained CNN on mnist, graded on the official test set (see grader/checks/labs.py)."""

from grader.checks.labs import lab_checklist

CHECKS = lab_checklist("lab_mnist", "mnist")
