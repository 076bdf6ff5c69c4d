# ruff: noqa: F821  (its helpers come from solutions/, which this file is graded on top of)
"""(Realistic, issue 12: "same" padding taken as (F - 1) // 2 zeros on each side, the
PyTorch habit. Before: the hint said "pad x before sliding the kernel" to a student who
did pad; after: it names the symmetric split.)

Only the student's own version of _padding_amounts is here: the test grades it on
top of solutions/exercise3.py (later definitions replace earlier ones), as a student who got the rest right.
"""



def _padding_amounts(padding, in_hw, kernel_hw, stride_hw):
    """Zeros to add as ``((top, bottom), (left, right))``.

    ``kernel_hw`` may be None for an int, a pair or ``"valid"``.
    """
    if isinstance(padding, str):
        word = padding.lower()
        if word == "valid":
            return (0, 0), (0, 0)
        if word not in ("same", "full"):
            raise ValueError(
                f'padding must be an int, a pair (P_h, P_w), "valid", "same" or "full", '
                f"got {padding!r}"
            )
        if kernel_hw is None:
            raise ValueError(f"kernel_size is needed to compute padding={padding!r}")
        if word == "full":
            return (kernel_hw[0] - 1,) * 2, (kernel_hw[1] - 1,) * 2
        amounts = []
        for f in kernel_hw:
            half = (f - 1) // 2  # "same" keeps the size: (F - 1) / 2 zeros on each side
            amounts.append((half, half))
        return amounts[0], amounts[1]
    p_h, p_w = _pair(padding, "padding", minimum=0)
    return (p_h, p_h), (p_w, p_w)
