"""A track's RTP timestamps on the monotonic clock: wrap-around, reordering, jumps."""

from __future__ import annotations

import pytest

from recordings.recorder import MAX_SKEW, TrackClock

WRAP = 1 << 32


@pytest.mark.parametrize(
    ("start", "frames", "expected"),
    [
        # (rtp timestamp, arrival) → media time; video at 90 kHz, first frame at t=100.
        (1000, [(1000 + 9000, 100.1), (1000 + 18000, 100.2)], [100.1, 100.2]),
        # Across the 32-bit wrap.
        (WRAP - 4500, [(4500, 100.1), (13500, 100.2)], [100.1, 100.2]),
        # A late frame from before the wrap, then the stream goes on.
        (WRAP - 9000, [(0, 100.1), (WRAP - 4500, 100.12), (9000, 100.2)], [100.1, 100.05, 100.2]),
        # Arrival jitter does not move media time (within the skew limit).
        (0, [(90000, 101.9), (180000, 102.1)], [101.0, 102.0]),
    ],
)
def test_media_time(start: int, frames: list[tuple[int, float]], expected: list[float]) -> None:
    clock = TrackClock.start(90000, start, 100.0)
    got = [clock.at(ts, now) for ts, now in frames]
    assert got == pytest.approx(expected, abs=1e-6)


def test_a_jump_beyond_the_skew_limit_re_anchors_at_arrival() -> None:
    clock = TrackClock.start(48000, 0, 100.0)
    jumped = clock.at(48000 * 60, 101.0)  # a minute ahead of its own clock
    assert jumped == 101.0 and MAX_SKEW < 59
    assert clock.at(48000 * 60 + 960, 101.02) == pytest.approx(101.02)
