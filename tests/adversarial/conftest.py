"""Adversarial fixtures (ADVERSARIAL.md): each case is the reference solution plus one attack."""
