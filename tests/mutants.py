"""Realistic wrong submissions, written as edits of the reference solutions.

Each ``Mutant`` is the reference solution with one mistake students really make.
``tests/test_mutants.py`` grades each one and asserts that the check meant to
catch it fails with the pinned message; ``grade verify`` uses the same list to
show that every check fails on at least one broken variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


@dataclass(frozen=True)
class Mutant:
    exercise: str
    name: str
    edits: tuple[tuple[str, str], ...]  # (old, new): each old must occur exactly once
    check: str  # the id of the check meant to catch it
    message: str  # a fragment of that check's message, pinned

    def source(self) -> str:
        text = (SOLUTIONS / f"{self.exercise}.py").read_text(encoding="utf-8")
        for old, new in self.edits:
            count = text.count(old)
            if count != 1:
                raise ValueError(f"mutant {self.name!r}: {old!r} occurs {count} times in {self.exercise}.py")
            text = text.replace(old, new)
        return text


EXERCISE1 = [
    Mutant("exercise1", "round instead of floor",
           (("return (width + 2 * pad - span) // step + 1", "return round((width + 2 * pad - span) / step) + 1"),),
           "conv-output-size-with-integer-padding-and-strides", "Round down"),
    Mutant("exercise1", "ceil instead of floor",
           (("return (width + 2 * pad - span) // step + 1", "return -(-(width + 2 * pad - span) // step) + 1"),),
           "lecture-28x28-with-a-3x3-kernel-stride-2-gives-13", "returned the wrong number"),
    Mutant("exercise1", "true division returns a float",
           (("return (width + 2 * pad - span) // step + 1", "return (width + 2 * pad - span) / step + 1"),),
           "lecture-w-7-f-3-p-0-s-1-gives-5", "must return a Python int"),
    Mutant("exercise1", '"same" keeps W whatever the stride',
           (("            return -(-width // step)\n        pad = 0", "            return width\n        pad = 0"),),
           "conv-output-size-with-same-padding-tensorflow-ceil-w-s", "'same' keeps the size only at stride 1"),
    Mutant("exercise1", "dilation ignored",
           (("span = dil * (kernel - 1) + 1", "span = kernel"),),
           "conv-output-size-with-dilation", "That is the size for dilation 1"),
    Mutant("exercise1", "padding added on one side only",
           (("return (width + 2 * pad - span) // step + 1", "return (width + pad - span) // step + 1"),),
           "conv-output-size-with-integer-padding-and-strides", "returned the wrong number"),
    Mutant("exercise1", '"full" padding taken as F - 1 whatever the dilation',
           (("pad = 0 if padding == \"valid\" else dil * (kernel - 1)", "pad = 0 if padding == \"valid\" else kernel - 1"),),
           "conv-output-size-with-dilation", "returned the wrong number"),
    Mutant("exercise1", '"full" padding taken as F // 2',
           (("pad = 0 if padding == \"valid\" else dil * (kernel - 1)", "pad = 0 if padding == \"valid\" else kernel // 2"),),
           "conv-output-size-with-valid-and-full-padding", "returned the wrong number"),
    Mutant("exercise1", "receptive field sums the kernels",
           (("field += (kernel - 1) * jump", "field += kernel - 1"),),
           "receptive-field-of-a-stack-of-layers", "product of the strides"),
    Mutant("exercise1", "pooling stride defaults to 1",
           (("step = window if stride is None else", "step = 1 if stride is None else"),),
           "pool-output-size-with-valid-padding-and-the-default-stride", "defaults to pool_size"),
    Mutant("exercise1", "pooling forgets the + 1",
           (("return (width - window) // step + 1", "return (width - window) // step"),),
           "lecture-9x9-with-3x3-max-pooling-stride-3-gives-3x3", "returned the wrong number"),
    Mutant("exercise1", 'pooling "same" as "valid"',
           (("    if padding == \"same\":\n        return -(-width // step)\n    if window > width:",
             "    if window > width:"),),
           "pool-output-size-with-same-padding", "pool_size=2 is larger than the input"),
    Mutant("exercise1", "same_padding ignores dilation",
           (("total = dil * (kernel - 1)\n    if total % 2:", "total = kernel - 1\n    if total % 2:"),),
           "same-padding-keeps-the-size-at-stride-1", "With dilation"),
    Mutant("exercise1", "conv_output_shape gives C channels instead of K",
           (("        out_filters,\n    )", "        input_shape[2],\n    )"),),
           "conv-output-shape", "one channel per filter"),
    Mutant("exercise1", "conv_output_shape uses the height for both axes",
           (("conv_output_size(width, kernel_w, stride_w, pad_w)", "conv_output_size(height, kernel_w, stride_w, pad_w)"),),
           "conv-output-shape", "returned a wrong result"),
    Mutant("exercise1", "stride 0 not rejected",
           (("    step = _int_at_least(\"stride\", stride, 1)\n    dil", "    step = stride\n    dil"),),
           "conv-output-size-invalid-arguments", "ZeroDivisionError"),
    Mutant("exercise1", "pooling accepts integer padding",
           (("    if not isinstance(padding, str) or padding not in (\"valid\", \"same\"):\n        raise",
             "    if isinstance(padding, str) and padding not in (\"valid\", \"same\"):\n        raise"),),
           "other-invalid-arguments", "accepted an invalid padding"),
    Mutant("exercise1", "large strided dilations: same computed as W // S",
           (("        if padding == \"same\":\n            return -(-width // step)\n        pad = 0",
             "        if padding == \"same\":\n            return width // step if dil > 1 else -(-width // step)\n        pad = 0"),),
           "hidden-large-inputs-strides-and-dilations-together", "returned the wrong number"),
]

EXERCISE2 = [
    Mutant("exercise2", "conv2d_params forgets the bias",
           (("    return area * channels * count + (count if _flag(\"use_bias\", use_bias) else 0)",
             "    return area * channels * count"),),
           "lecture-3-input-maps-two-5x5-filters-152", "The bias is missing"),
    Mutant("exercise2", "one bias per input channel",
           (("    return area * channels * count + (count if _flag(\"use_bias\", use_bias) else 0)",
             "    return area * channels * count + (channels if _flag(\"use_bias\", use_bias) else 0)"),),
           "lecture-conv-64-3x3-on-32-channels-18-496", "returned a wrong result"),
    Mutant("exercise2", "dense_params forgets the bias",
           (("    return features * count + (count if _flag(\"use_bias\", use_bias) else 0)",
             "    return features * count"),),
           "lecture-dense-1600-128-204-928", "The bias is missing"),
    Mutant("exercise2", "dense bias always counted",
           (("    return features * count + (count if _flag(\"use_bias\", use_bias) else 0)",
             "    return features * count + count"),),
           "dense-params-with-and-without-bias", "returned a wrong result"),
    Mutant("exercise2", "BatchNorm counted as all trainable",
           (("    return (2 * count, 2 * count)", "    return (4 * count, 0)"),),
           "lecture-bn-on-32-channels-128-64-trainable", "non-trainable half"),
    Mutant("exercise2", "conv_params uses only the first kernel axis",
           (("    return volume * channels * count + (count if _flag(\"use_bias\", use_bias) else 0)",
             "    return kernel_size[0] ** len(kernel_size) * channels * count + (count if _flag(\"use_bias\", use_bias) else 0)"),),
           "conv-params-for-1d-2d-and-3d-kernels", "returned a wrong result"),
    Mutant("exercise2", "depthwise ignores the depth multiplier",
           (("    outputs = channels * multiplier\n", "    outputs = channels\n"),),
           "depthwise-conv2d-params-with-depth-multipliers", "returned a wrong result"),
    Mutant("exercise2", "separable counts the pointwise step from C_in, not C_in*dm",
           (("    return area * channels * multiplier + channels * multiplier * count + bias",
             "    return area * channels * multiplier + channels * count + bias"),),
           "separable-conv2d-params-depthwise-then-pointwise", "the pointwise 1x1 convolution sees C_in·dm maps"),
    Mutant("exercise2", "model_summary counts BatchNormalization as all trainable",
           (("            learned, fixed = 2 * shape[-1], 2 * shape[-1]", "            learned, fixed = 4 * shape[-1], 0"),),
           "hidden-exercise6-models",
           "non-trainable: 2·C of its 4·C"),
    Mutant("exercise2", "model_summary: 'same' treated like 'valid'",
           (("                if padding == \"same\":\n                    sizes.append(-(-size // s))\n                elif span > size:",
             "                if span > size:"),),
           "lecture-vgg16_conv_base", "is larger than the input (2, 2, 512)"),
    Mutant("exercise2", "model_summary: pooling stride defaults to 1",
           (("            strides = pool if spec.get(\"strides\") is None else", "            strides = (1, 1) if spec.get(\"strides\") is None else"),),
           "lecture-lenet5", "returned a wrong result"),
    Mutant("exercise2", "model_summary: Flatten keeps only the last axis",
           (("            size = 1\n            for axis in shape:\n                size *= axis\n            shape = (size,)",
             "            shape = (shape[-1],)"),),
           "lecture-mlp", "returned a wrong result"),
    Mutant("exercise2", "model_summary: Dense on a flattened image forgets its inputs",
           (("            learned = shape[-1] * units + (units if use_bias else 0)",
             "            learned = units + (units if use_bias else 0)"),),
           "lecture-conv64_dense10", "→ "),
    Mutant("exercise2", "model_summary: conv params ignore the input channels",
           (("            learned = kernel[0] * kernel[1] * shape[2] * filters + (filters if use_bias else 0)",
             "            learned = kernel[0] * kernel[1] * filters + (filters if use_bias else 0)"),),
           "lecture-two_conv_mnist", "→ "),
    Mutant("exercise2", "model_summary: strides ignored",
           (("                    sizes.append((size - span) // s + 1)", "                    sizes.append(size - span + 1)"),),
           "model-summary-generated", "→ "),
    Mutant("exercise2", "one filter: the input slices forgotten (26 instead of 76)",
           (("    return area * channels * count + (count if _flag(\"use_bias\", use_bias) else 0)",
             "    return area * count + (count if _flag(\"use_bias\", use_bias) else 0)"),),
           "lecture-one-5x5-filter-on-3-slices-76-75-weights-and-a-bias", "the result is 26, expected 76"),
    Mutant("exercise2", "a (F_h, F_w) kernel read as F_h x F_h",
           (("    return _int_at_least(\"kernel_size\", height) * _int_at_least(\"kernel_size\", width)",
             "    return _int_at_least(\"kernel_size\", height) ** 2"),),
           "conv2d-params-for-any-kernel-channels-filters-and-bias", "returned a wrong result"),
    Mutant("exercise2", "four 5x5 filters counted as one bias for all",
           (("    return area * channels * count + (count if _flag(\"use_bias\", use_bias) else 0)",
             "    return area * channels * count + (1 if _flag(\"use_bias\", use_bias) else 0)"),),
           "lecture-3-slices-four-5x5-filters-304", "returned a wrong result"),
    Mutant("exercise2", "conv 32@3x3 on 1 channel: bias per weight",
           (("    return area * channels * count + (count if _flag(\"use_bias\", use_bias) else 0)",
             "    return 2 * area * channels * count"),),
           "lecture-conv-32-3x3-on-1-channel-320", "returned a wrong result"),
    Mutant("exercise2", "errors are not ValueError",
           (("        if not isinstance(kind, str) or kind not in _LAYER_KEYS:\n            raise ValueError(",
             "        if not isinstance(kind, str) or kind not in _LAYER_KEYS:\n            raise KeyError("),),
           "invalid-arguments", "the course convention is ValueError"),
]

_MATMUL = "    out = cols @ w.astype(dtype, copy=False).reshape(f_h * f_w * c_in, k)"
_RESHAPE = "    return out.reshape(n, h_out, w_out, k)"
EXERCISE3 = [
    Mutant("exercise3", "flipped kernel (true convolution)",
           ((_MATMUL, "    out = cols @ w[::-1, ::-1].astype(dtype, copy=False).reshape(f_h * f_w * c_in, k)"),),
           "cross-correlation", "The kernel is flipped"),
    Mutant("exercise3", "relu fused into the convolution, seen on the lecture's maps",
           ((_RESHAPE, "    return np.maximum(out.reshape(n, h_out, w_out, k), 0)"),),
           "lecture-feature-maps", "The lecture's feature maps"),
    Mutant("exercise3", "bias ignored",
           (("    out += b.astype(dtype, copy=False)\n", ""),),
           "conv2d-forward-stride-1", "The bias b is missing"),
    Mutant("exercise3", '"same": the odd extra zero put at the top/left',
           (("amounts.append((total // 2, total - total // 2))", "amounts.append((total - total // 2, total // 2))"),),
           "conv2d-forward-stride-2-same", "bottom/right"),
    Mutant("exercise3", "H' and W' swapped for non-square inputs",
           ((_RESHAPE, "    return out.reshape(n, w_out, h_out, k)"),),
           "conv2d-forward-shape", "H' and W' are swapped"),
    Mutant("exercise3", "padding never applied",
           (("    xp = pad2d(x.astype(dtype, copy=False), padding, kernel_size=(f_h, f_w), stride=(s_h, s_w))",
             "    xp = x.astype(dtype, copy=True)"),),
           "conv2d-forward-stride-1", "what padding=0 gives"),
    Mutant("exercise3", "stride ignored when picking windows",
           (("    windows = windows[:, ::s_h, ::s_w]", "    windows = windows[:, :h_out, :w_out]"),),
           "conv2d-forward-stride-2-same", "right shape but wrong values"),
    Mutant("exercise3", '"full" padding taken as F // 2',
           (("            return (kernel_hw[0] - 1,) * 2, (kernel_hw[1] - 1,) * 2",
             "            return (kernel_hw[0] // 2,) * 2, (kernel_hw[1] // 2,) * 2"),),
           "conv2d-forward-full", "wrong shape"),
    Mutant("exercise3", "the last output row is never computed",
           ((_RESHAPE, "    out = out.reshape(n, h_out, w_out, k)\n    out[:, -1] = 0\n    return out"),),
           "translation-equivariance", "your output shifted likewise"),
    Mutant("exercise3", "relu fused into the convolution",
           ((_RESHAPE, "    return np.maximum(out.reshape(n, h_out, w_out, k), 0)"),),
           "linearity", "compared with a·f(x"),
    Mutant("exercise3", "kernel axes C_in and K confused",
           ((_MATMUL, "    out = cols @ w.astype(dtype, copy=False).transpose(0, 1, 3, 2).reshape(f_h * f_w * c_in, k)"),),
           "one-by-one", "right shape but wrong values"),
    Mutant("exercise3", "channel mismatch not checked",
           (("    if c_in != x.shape[3]:\n        raise ValueError", "    if False:\n        raise ValueError"),),
           "invalid-arguments", "does not name the argument"),
    Mutant("exercise3", "pad2d pads both axes by P_h",
           (("    return (p_h, p_h), (p_w, p_w)", "    return (p_h, p_h), (p_h, p_h)"),),
           "pad2d-with-int-pair-valid-same-and-full-padding", "wrong shape"),
    Mutant("exercise3", "relu in place",
           (("    return np.maximum(x, x.dtype.type(0))", "    np.maximum(x, x.dtype.type(0), out=x)\n    return x"),),
           "inputs-unchanged", "modified its input x in place"),
    Mutant("exercise3", "leaky relu",
           (("    return np.maximum(x, x.dtype.type(0))", "    return np.maximum(x, 0.01 * x)"),),
           "relu-keeps-positives-and-zeroes-the-rest", "right shape but wrong values"),
    Mutant("exercise3", "large strides: same padding computed for stride 1",
           (("            out = -(-size // s)  # ceil(size / s)", "            out = size"),),
           "hidden-larger", "wrong shape"),
]

ALL = EXERCISE1 + EXERCISE2 + EXERCISE3
