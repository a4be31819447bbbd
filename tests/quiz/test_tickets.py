"""Drawing tickets (no database): counts per section, no repeats, option order, shortages."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from quiz.tickets import DrawnItem, draw_ticket, validate_plan
from server.errors import Invalid


def _pool(sizes: dict[int, int]) -> dict[int, list[tuple[int, list[int]]]]:
    """``sizes[section]`` questions per section; question ``s*100+n`` has options ``q*10+1..3``."""
    return {
        section: [
            (section * 100 + n, [(section * 100 + n) * 10 + k for k in (1, 2, 3)])
            for n in range(size)
        ]
        for section, size in sizes.items()
    }


POOL = _pool({1: 4, 2: 4, 3: 6})


@pytest.mark.rule("B5.6-sections")
@pytest.mark.parametrize(
    "plan",
    [
        {1: 2, 2: 2, 3: 2},
        {1: 1, 2: 1},
        {1: 4, 2: 4, 3: 6},
        {1: 0, 2: 3, 3: 1},
        {3: 5, 1: 1},
    ],
)
@pytest.mark.parametrize("seed", range(5))
def test_a_ticket_has_the_planned_count_from_each_section(plan: dict[int, int], seed: int) -> None:
    ticket = draw_ticket(plan, POOL, random.Random(seed), shuffle_options=True)
    assert Counter(item.section_id for item in ticket) == Counter(
        {s: c for s, c in plan.items() if c}
    )
    assert len({item.section_id for item in ticket}) >= 2
    ids = [item.question_id for item in ticket]
    assert len(ids) == len(set(ids)), "no question twice"
    for item in ticket:
        assert item.question_id // 100 == item.section_id, "drawn from its own section"
        assert sorted(item.option_ids) == [item.question_id * 10 + k for k in (1, 2, 3)]


@pytest.mark.parametrize(
    ("shuffle", "always_authored"),
    [(False, True), (True, False)],
    ids=["kept", "shuffled"],
)
def test_options_are_shuffled_only_when_asked(shuffle: bool, always_authored: bool) -> None:
    plan = {1: 4, 2: 4, 3: 6}
    orders = set()
    for seed in range(20):
        for item in draw_ticket(plan, POOL, random.Random(seed), shuffle):
            authored = tuple(item.question_id * 10 + k for k in (1, 2, 3))
            orders.add(item.option_ids == authored)
    assert orders == ({True} if always_authored else {True, False})


def test_the_same_seed_draws_the_same_ticket_and_others_differ() -> None:
    plan = {1: 2, 2: 2, 3: 2}
    first = draw_ticket(plan, POOL, random.Random(7), True)
    assert draw_ticket(plan, POOL, random.Random(7), True) == first
    others = {tuple(draw_ticket(plan, POOL, random.Random(s), True)) for s in range(30)}
    assert len(others) > 20, "tickets vary between learners"
    # Sections are mixed, not drawn in blocks: some ticket does not start with section 1.
    assert any(ticket[0].section_id != 1 for ticket in others)
    assert all(isinstance(item, DrawnItem) for item in first)


def test_every_question_of_a_section_is_drawn_over_many_tickets() -> None:
    seen: Counter[int] = Counter()
    for seed in range(200):
        seen.update(
            i.question_id for i in draw_ticket({1: 1, 3: 1}, POOL, random.Random(seed), True)
        )
    assert set(seen) == {q for s in (1, 3) for q, _ in POOL[s]}


@pytest.mark.parametrize(
    ("plan", "pool", "code"),
    [
        ({1: 5, 2: 1}, POOL, "not_enough_questions"),
        ({1: 1, 4: 1}, POOL, "not_enough_questions"),
        ({1: 1, 2: 1}, _pool({1: 1, 2: 0}), "not_enough_questions"),
        ({1: 3}, POOL, "sections_required"),
        ({1: 3, 2: 0}, POOL, "sections_required"),
        ({}, POOL, "sections_required"),
        ({1: 2, 2: -1, 3: 1}, POOL, "invalid"),
    ],
)
def test_impossible_plans_are_refused(
    plan: dict[int, int], pool: dict[int, list[tuple[int, list[int]]]], code: str
) -> None:
    with pytest.raises(Invalid) as refused:
        draw_ticket(plan, pool, random.Random(0), True)
    assert refused.value.code == code
    assert refused.value.status == 422
    if code != "not_enough_questions":
        with pytest.raises(Invalid):
            validate_plan(plan)


def test_an_exact_pool_is_used_whole() -> None:
    ticket = draw_ticket({1: 4, 2: 4}, POOL, random.Random(3), False)
    assert sorted(i.question_id for i in ticket) == [q for s in (1, 2) for q, _ in POOL[s]]
