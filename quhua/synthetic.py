"""Synthetic monthly reports for every village of a province: deterministic, believable.

Used by `quhua demo` and by the benchmarks (`bench/generate.py`). Each village gets a size
and its own rates; each month it reports every cell of the village-level elements of the
default catalogue, consistent with itself (options add up to totals, policy-compliant births
never exceed births), with a sex ratio at birth around 105 to 118 and birth rates
around 6 to 14‰. A few villages report late or not at all, and a few values are outliers.
Hospitals register every birth (hospital_births), and the villages of one county report only
about four in five of them: an under-reporting county for the consistency check.
"""

from __future__ import annotations

import csv
import gzip
import math
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tenancy.levels import Level

Row = tuple[str, str, str, str, str]

PARITY_SHARES = (("1", 0.46), ("2", 0.41), ("3plus", 0.13))
METHOD_SHARES = (
    ("iud", 0.44),
    ("sterilization", 0.24),
    ("implant", 0.06),
    ("pill", 0.05),
    ("condom", 0.16),
    ("other", 0.05),
)
MISSING_SHARE = 0.03
OUTLIER_SHARE = 0.001
# 同心县: its villages report about four births in five that hospitals register.
UNDER_REPORTING_COUNTY = "640324"
UNDER_REPORTED_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class Village:
    code: str
    population: int
    male_share: float
    birth_rate: float  # per 1,000 a year
    death_rate: float
    boy_share: float  # of births


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _split(rng: random.Random, total: int, shares: Sequence[tuple[str, float]]) -> list[int]:
    """total divided among the shares at random; the parts always add up to total."""
    weights = [share for _, share in shares]
    if total <= 20:
        counts = [0] * len(shares)
        for index in rng.choices(range(len(shares)), weights, k=total):
            counts[index] += 1
        return counts
    noisy = [w * rng.uniform(0.9, 1.1) for w in weights]
    parts = [int(total * w / sum(noisy)) for w in noisy]
    parts[0] += total - sum(parts)
    return parts


def villages(codes: Sequence[str], seed: int) -> list[Village]:
    rng = random.Random(f"{seed}:villages")  # noqa: S311 - synthetic data, not secrets
    return [
        Village(
            code=code,
            population=int(min(12_000, max(150, rng.lognormvariate(7.3, 0.55)))),
            male_share=rng.uniform(0.495, 0.525),
            birth_rate=rng.uniform(6.0, 14.0),
            death_rate=rng.uniform(4.5, 8.0),
            boy_share=rng.uniform(0.512, 0.541),  # sex ratio at birth 105 to 118
        )
        for code in codes
    ]


def months(first_year: int, years: int) -> list[str]:
    return [
        f"{year}-{month:02d}"
        for year in range(first_year, first_year + years)
        for month in range(1, 13)
    ]


def village_rows(village: Village, period: str, rng: random.Random) -> Iterator[Row]:
    """Every cell a village reports for one month."""
    code = village.code
    people = village.population
    males = round(people * village.male_share)
    yield code, "population", period, str(males), "sex=male"
    yield code, "population", period, str(people - males), "sex=female"
    births = _poisson(rng, people * village.birth_rate / 12_000)
    boys = sum(rng.random() < village.boy_share for _ in range(births))
    # Births are few a month: each is drawn; larger counts are shared out.
    for sex, count in (("male", boys), ("female", births - boys)):
        for (parity, _), n in zip(PARITY_SHARES, _split(rng, count, PARITY_SHARES), strict=True):
            yield code, "births", period, str(n), f"sex={sex};parity={parity}"
    # Drawn from nothing: the other figures are the same with or without it (see generate).
    missed = (
        math.ceil(births * UNDER_REPORTED_SHARE) if code.startswith(UNDER_REPORTING_COUNTY) else 0
    )
    yield code, "hospital_births", period, str(births + missed), ""
    outside_policy = sum(rng.random() < 0.04 for _ in range(births))
    yield code, "policy_births", period, str(births - outside_policy), ""
    yield code, "deaths", period, str(_poisson(rng, people * village.death_rate / 12_000)), ""
    married = round(people * 0.21)
    yield code, "married_women", period, str(married), ""
    users = round(married * rng.uniform(0.82, 0.9))
    for (method, _), n in zip(METHOD_SHARES, _split(rng, users, METHOD_SHARES), strict=True):
        yield code, "contraceptive_users", period, str(n), f"method={method}"
    due = round(married * 0.08)
    yield code, "three_checks_due", period, str(due), ""
    yield code, "three_checks_done", period, str(round(due * rng.uniform(0.9, 1.0))), ""
    floating = round(people * 0.05)
    yield code, "floating_population", period, str(floating), ""
    verified = min(floating, _poisson(rng, floating * 0.07))
    yield code, "floating_certificates_verified", period, str(verified), ""
    assessed = outside_policy * 12_000
    yield code, "fees_assessed", period, f"{assessed:.2f}", ""
    yield code, "fees_collected", period, f"{assessed * rng.uniform(0.5, 1.0):.2f}", ""
    recipients = round(people * 0.012)
    yield code, "reward_recipients", period, str(recipients), ""
    yield code, "reward_paid", period, f"{recipients * 80:.2f}", ""
    defects = sum(rng.random() < 0.012 for _ in range(births))
    yield code, "birth_defects", period, str(defects), ""


TOWNSHIP_CODE_LENGTH = Level.TOWNSHIP.code_length


def _funding(everyone: Sequence[Village], period: str, rng: random.Random) -> Iterator[Row]:
    """A quarter's family-planning funding of each township: 1.5 to 4 yuan a resident."""
    people: dict[str, int] = defaultdict(int)
    for village in everyone:
        people[village.code[:TOWNSHIP_CODE_LENGTH]] += village.population
    quarter = f"{period[:4]}-Q{(int(period[5:]) + 2) // 3}"
    for township, residents in people.items():
        yield township, "funding", quarter, f"{residents * rng.uniform(1.5, 4.0):.2f}", ""


def generate(
    codes: Sequence[str], *, first_year: int, years: int, seed: int, only: Sequence[str] = ()
) -> Iterator[Row]:
    """Rows (jurisdiction, element, period, value, disaggregation) for every village-month,
    or for the months in `only` of those years."""
    everyone = villages(codes, seed)
    rng = random.Random()  # noqa: S311 - synthetic data, not secrets
    for period in months(first_year, years):
        if only and period not in only:
            continue
        # One stream a month: a month is the same whichever months are generated with it.
        rng.seed(f"{seed}:{period}:reports")
        if int(period[5:]) % 3 == 1:
            yield from _funding(everyone, period, rng)
        for village in everyone:
            if rng.random() < MISSING_SHARE:
                continue
            for code, element, month, value, cell in village_rows(village, period, rng):
                if element == "hospital_births":
                    # Registered, never an outlier: no draw, so every other row is the same.
                    yield code, element, month, value, cell
                    continue
                outlier = rng.random() < OUTLIER_SHARE and element in ("births", "deaths")
                yield code, element, month, str(int(value) * 10 + 5) if outlier else value, cell


def write_csv(rows: Iterator[Row], path: Path) -> int:
    """Write rows as a values file (gzip when the name ends in .gz); return how many."""
    count = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("jurisdiction", "element", "period", "value", "disaggregation"))
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
