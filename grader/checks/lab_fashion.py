"""Checks for lab_fashion: a trained CNN on fashion_mnist, graded on the official test set (see grader/checks/labs.py)."""

from grader.checks.labs import lab_checklist

CHECKS = lab_checklist("lab_fashion", "fashion_mnist")
