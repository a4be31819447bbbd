"""Oral forms' clocks: ticket preparation and answer (B 5.10), referat defence (B 5.9)."""

from __future__ import annotations

from datetime import timedelta

MIN_PREPARATION = timedelta(minutes=20)  # B 5.10: "не менее 20 минут"
MAX_ANSWER = timedelta(minutes=15)  # B 5.10: "не более 15 минут"
MAX_DEFENCE = timedelta(minutes=15)  # B 5.9: defence of a referat up to 15 minutes


def preparation_ok(preparation: timedelta) -> bool:
    """A learner gets at least 20 minutes to prepare a ticket's answer."""
    return preparation >= MIN_PREPARATION


def answer_ok(answer: timedelta) -> bool:
    """A learner's oral answer is limited to at most 15 minutes (and is positive)."""
    return timedelta(0) < answer <= MAX_ANSWER


def defence_ok(defence: timedelta) -> bool:
    """A referat defence lasts at most 15 minutes (and is positive)."""
    return timedelta(0) < defence <= MAX_DEFENCE


def answer_time_left(elapsed: timedelta, limit: timedelta = MAX_ANSWER) -> timedelta:
    """What is left of an answer's time; never negative (the server's clock decides)."""
    return max(timedelta(0), min(limit, MAX_ANSWER) - elapsed)
