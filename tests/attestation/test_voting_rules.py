"""The closed vote: simple majority, the chair decides a tie (B 3.9, 7.9)."""

from __future__ import annotations

import pytest

from attestation.rules.voting import NoDecision, VoteIncomplete, tally

CHAIR = 1


@pytest.mark.rule("B3.9-majority")
@pytest.mark.rule("B7.9-appeal-vote")
@pytest.mark.parametrize(
    ("votes", "choice", "by_chair"),
    [
        ({1: "good", 2: "good", 3: "excellent"}, "good", False),
        ({1: "excellent", 2: "good", 3: "good"}, "good", False),  # the chair outvoted
        ({1: "passed", 2: "failed"}, "passed", True),  # 1:1, chair decides
        ({1: "failed", 2: "passed", 3: "passed", 4: "failed"}, "failed", True),
        ({1: "good", 2: "excellent", 3: "satisfactory"}, "good", True),  # three-way tie
        ({1: "good", 2: "excellent", 3: "excellent", 4: "good", 5: "good"}, "good", False),
        (
            {1: "excellent", 2: "good", 3: "good", 4: "satisfactory", 5: "excellent"},
            "excellent",
            True,
        ),
    ],
)
def test_majority_and_casting_vote(votes: dict[int, str], choice: str, by_chair: bool) -> None:
    outcome = tally(votes, set(votes), CHAIR)
    assert (outcome.choice, outcome.by_chair) == (choice, by_chair)
    assert sum(outcome.counts.values()) == len(votes)


@pytest.mark.rule("B3.9-majority")
def test_a_tie_the_chair_did_not_vote_in_is_no_decision() -> None:
    with pytest.raises(NoDecision):
        tally(
            {1: "satisfactory", 2: "good", 3: "good", 4: "excellent", 5: "excellent"},
            {1, 2, 3, 4, 5},
            CHAIR,
        )


@pytest.mark.rule("B3.9-majority")
@pytest.mark.parametrize(
    ("votes", "present"),
    [
        ({1: "good", 2: "good"}, {1, 2, 3}),  # member 3 has not voted
        ({1: "good", 2: "good", 9: "good"}, {1, 2}),  # an absent person voted
        ({}, set()),
    ],
)
def test_every_member_present_and_only_they_vote(votes: dict[int, str], present: set[int]) -> None:
    with pytest.raises(VoteIncomplete):
        tally(votes, present, CHAIR)
