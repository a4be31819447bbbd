"""Drawing a ticket (variant): questions from different sections of the program (B 5.6)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from server.errors import Invalid


@dataclass(frozen=True)
class DrawnItem:
    """A drawn question with its option order for this attempt."""

    question_id: int
    section_id: int
    option_ids: tuple[int, ...]


def validate_plan(plan: Mapping[int, int]) -> None:
    """A draw plan (section id → count) must take questions from at least two sections."""
    used = {section: count for section, count in plan.items() if count > 0}
    if any(count < 0 for count in plan.values()):
        raise Invalid("a section count cannot be negative")
    if len(used) < 2:
        raise Invalid(
            "a ticket must draw its questions from at least two sections of the program (B 5.6)",
            code="sections_required",
        )


def draw_ticket(
    plan: Mapping[int, int],
    pool: Mapping[int, Sequence[tuple[int, Sequence[int]]]],
    rng: random.Random,
    shuffle_options: bool,
) -> list[DrawnItem]:
    """Draw ``plan[section]`` questions from each section's pool and fix the orders.

    ``pool`` maps a section id to its approved questions as ``(question_id, option_ids)``.
    The questions of all sections are shuffled together; options are shuffled per question
    when ``shuffle_options`` is set, else kept in their authored order.
    """
    validate_plan(plan)
    drawn: list[DrawnItem] = []
    for section_id, count in sorted(plan.items()):
        if count == 0:
            continue
        available = list(pool.get(section_id, ()))
        if len(available) < count:
            raise Invalid(
                f"section {section_id} has {len(available)} approved questions, "
                f"the test needs {count}",
                code="not_enough_questions",
            )
        for question_id, option_ids in rng.sample(available, count):
            options = list(option_ids)
            if shuffle_options:
                rng.shuffle(options)
            drawn.append(DrawnItem(question_id, section_id, tuple(options)))
    rng.shuffle(drawn)
    return drawn
