"""Spaces of integer arguments, drawn two ways from one description.

A check over a cheap integer function (exercise 2's parameter counts) sweeps a
grid plus cases drawn at random from the space, all in one round trip to the
child; only when that sweep finds a failure does hypothesis search the same
space and shrink the failure. Describing the space once keeps the two in step:
``draw(rng)`` gives one case from a ``random.Random`` (microseconds, no
hypothesis import), ``strategy()`` the equivalent hypothesis strategy.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from grader.checking.properties import strategies


@dataclass(frozen=True)
class Ints:
    """An int in [low, high]."""

    low: int
    high: int

    def draw(self, rng: random.Random) -> int:
        return rng.randint(self.low, self.high)

    def strategy(self):
        return strategies().integers(self.low, self.high)


@dataclass(frozen=True)
class Flags:
    """True or False."""

    def draw(self, rng: random.Random) -> bool:
        return rng.random() < 0.5

    def strategy(self):
        return strategies().booleans()


@dataclass(frozen=True)
class IntOrPair:
    """An int in [low, high], or a pair (h, w) of them (a kernel size)."""

    low: int
    high: int

    def draw(self, rng: random.Random) -> int | tuple[int, int]:
        if rng.random() < 0.5:
            return rng.randint(self.low, self.high)
        return rng.randint(self.low, self.high), rng.randint(self.low, self.high)

    def strategy(self):
        st = strategies()
        side = st.integers(self.low, self.high)
        return st.one_of(side, st.tuples(side, side))


@dataclass(frozen=True)
class IntTuple:
    """A tuple of ``min_length`` to ``max_length`` ints in [low, high] (a 1D/2D/3D kernel size)."""

    low: int
    high: int
    min_length: int
    max_length: int

    def draw(self, rng: random.Random) -> tuple[int, ...]:
        length = rng.randint(self.min_length, self.max_length)
        return tuple(rng.randint(self.low, self.high) for _ in range(length))

    def strategy(self):
        st = strategies()
        return st.lists(st.integers(self.low, self.high), min_size=self.min_length,
                        max_size=self.max_length).map(tuple)


Dimension = Ints | Flags | IntOrPair | IntTuple


@dataclass(frozen=True)
class Space:
    """Keyword arguments, each from its own dimension."""

    dimensions: dict[str, Dimension]

    def draw(self, rng: random.Random, count: int) -> list[dict]:
        """``count`` cases; the same ``rng`` state gives the same cases."""
        return [{name: dimension.draw(rng) for name, dimension in self.dimensions.items()} for _ in range(count)]

    def strategy(self):
        """The hypothesis strategy of the same cases (imports hypothesis)."""
        return strategies().fixed_dictionaries({name: d.strategy() for name, d in self.dimensions.items()})
