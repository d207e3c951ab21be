"""How far a value lies from a unit's own history: the z-score and the modified z-score.

The history never holds the value scored: a value inside its own history pulls the mean and
widens the SD towards itself (with n points, |z| can never pass (n - 1) / √n).

The modified z-score (Iglewicz and Hoaglin) is 0.6745 · (x - median) / MAD, with MAD the
median of |xᵢ - median| over the history: the median and MAD both, never the median with the
SD. 0.6745 is the 0.75 quantile of the standard normal, so MAD / 0.6745 estimates the SD of
normal data, and the score reads on the z-score's scale.

When more than half the history holds one value, MAD is 0. The score then uses the mean
absolute deviation from the median instead (as IBM SPSS does): (x - median) / (1.253314 ·
MeanAD), 1.253314 = √(π / 2) making MeanAD estimate the SD of normal data. When that is 0
too, the history is one value repeated: it says nothing of how far a value may stray (a
village's deaths, 0 every month, then 1), so the value is not scored, and neither is it by
the z-score, whose SD is then 0.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

MAD_SCALE = 0.6745
MEAN_ABSOLUTE_DEVIATION_SCALE = math.sqrt(math.pi / 2)


class Spread(StrEnum):
    """What a score divides by."""

    STANDARD_DEVIATION = "standard_deviation"
    MEDIAN_ABSOLUTE_DEVIATION = "median_absolute_deviation"
    MEAN_ABSOLUTE_DEVIATION = "mean_absolute_deviation"


@dataclass(frozen=True, slots=True)
class Score:
    """A value's score against a history, and the history's statistics it came from."""

    score: float  # signed: below the history's centre when negative
    centre: float  # the mean (z-score) or the median (modified z-score)
    spread: float  # the SD, the MAD, or the mean absolute deviation when the MAD is 0
    spread_kind: Spread
    points: int


def z_score(value: float, history: Sequence[float]) -> Score | None:
    """(x - mean) / SD over the history (the sample SD, n - 1); None with fewer than two
    points or an SD of 0."""
    if len(history) < 2:
        return None
    mean = statistics.fmean(history)
    # In floats: statistics.stdev works in exact fractions, a hundred times slower, and a
    # province's villages have some 75,000 histories a month.
    sd = math.sqrt(math.fsum((point - mean) ** 2 for point in history) / (len(history) - 1))
    if sd == 0:
        return None
    return Score((value - mean) / sd, mean, sd, Spread.STANDARD_DEVIATION, len(history))


def modified_z_score(value: float, history: Sequence[float]) -> Score | None:
    """0.6745 · (x - median) / MAD over the history, or (x - median) / (1.253314 · MeanAD)
    when the MAD is 0; None for an empty or constant history."""
    if not history:
        return None
    median = statistics.median(history)
    deviations = [abs(point - median) for point in history]
    mad = statistics.median(deviations)
    if mad > 0:
        score = MAD_SCALE * (value - median) / mad
        return Score(score, median, mad, Spread.MEDIAN_ABSOLUTE_DEVIATION, len(history))
    mean_deviation = statistics.fmean(deviations)
    if mean_deviation == 0:
        return None
    score = (value - median) / (MEAN_ABSOLUTE_DEVIATION_SCALE * mean_deviation)
    return Score(score, median, mean_deviation, Spread.MEAN_ABSOLUTE_DEVIATION, len(history))
