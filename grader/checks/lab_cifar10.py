"""Checks for lab_cifar10: a trained CNN on cifar10, graded on the official test set (see grader/checks/labs.py)."""

from grader.checks.labs import lab_checklist

CHECKS = lab_checklist("lab_cifar10", "cifar10")
