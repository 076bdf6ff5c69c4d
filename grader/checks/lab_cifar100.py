"""Checks for lab_cifar100: a trained CNN on cifar100, graded on the official test set (see grader/checks/labs.py)."""

from grader.checks.labs import lab_checklist

CHECKS = lab_checklist("lab_cifar100", "cifar100")
