"""The closed vote of a commission (B 3.9) and of an appeal commission (B 7.9).

Each member present votes one mark. The mark with the most votes wins ("simple
majority" of the votes of those present, read as the relative majority since a scale
has up to four marks); when two or more marks share the most votes, the chair's vote
decides. If the chair voted for none of the tied marks nothing is decided and the
commission votes again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass


class VoteIncomplete(ValueError):
    """Not every member present has voted, or someone not present voted."""


class NoDecision(ValueError):
    """A tie that the chair's vote does not break: vote again."""


@dataclass(frozen=True)
class Outcome:
    """The decided choice, the count per choice and whether the chair broke a tie."""

    choice: str
    counts: dict[str, int]
    by_chair: bool


def tally(votes: Mapping[int, str], present: Collection[int], chair_id: int) -> Outcome:
    """Decide from ``votes`` (member id → choice) of the members ``present``."""
    if set(votes) != set(present):
        missing = sorted(set(present) - set(votes))
        extra = sorted(set(votes) - set(present))
        raise VoteIncomplete(f"votes missing from {missing}, votes from absent {extra}")
    if not votes:
        raise VoteIncomplete("nobody has voted")
    counts = Counter(votes.values())
    top = max(counts.values())
    leaders = [choice for choice, n in counts.items() if n == top]
    if len(leaders) == 1:
        return Outcome(leaders[0], dict(counts), False)
    chair_choice = votes.get(chair_id)
    if chair_choice in leaders:
        return Outcome(chair_choice, dict(counts), True)
    raise NoDecision(f"tie between {sorted(leaders)} and the chair voted for none of them")
