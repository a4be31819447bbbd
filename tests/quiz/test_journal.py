"""The answer journal under concurrency, through the real HTTP and socket.io paths.

Every acknowledged save is committed; saves that arrive together share a commit; a save
racing a submission is either counted in the grade or refused, never acknowledged and lost.
Both backends (the ``client`` fixture is parametrised).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from quiz.models import AnswerEvent, Attempt, AttemptItem
from quiz.quizzes import create_quiz
from server.appkeys import CLOCK, JOURNAL, SESSIONS
from server.sessions import Identity
from tests.seed import Seed
from tests.serverproc import Api, Clients, QuizSocket


def is_right(option: dict[str, Any]) -> bool:
    return str(option["text"]).startswith("верно")


async def http_save(api: Api, attempt_id: int, question_id: int, option_id: int, lease: str) -> Any:
    status, body = await api.call(
        "PUT",
        f"/api/attempts/{attempt_id}/answers/{question_id}",
        json={"option_id": option_id, "lease": lease},
    )
    if status == 200:
        assert body["saved"] is True, body
    return body


async def socket_save(
    sock: QuizSocket, attempt_id: int, question_id: int, option_id: int, lease: str
) -> Any:
    return await sock.call(
        "save",
        {
            "attempt_id": attempt_id,
            "question_id": question_id,
            "option_id": option_id,
            "lease": lease,
        },
    )


def acked(ack: Any) -> bool:
    return isinstance(ack, dict) and ack.get("saved") is True


async def test_concurrent_saves_are_all_committed_in_shared_batches(
    seed: Seed, client: TestClient[Any, Any], clients: Clients
) -> None:
    app = client.app
    journal = app[JOURNAL]
    rng = random.Random(7)
    jobs = []
    expected: dict[tuple[int, int], int] = {}
    for n in (1, 2, 3):
        api, sock = await clients.learner(f"learner{n}")
        status, attempt = await api.call("POST", f"/api/tests/{seed.test_id}/attempts", json={})
        assert status == 201, attempt
        attempt_id, lease = attempt["attempt_id"], attempt["lease"]
        for question in attempt["questions"]:
            option_id = rng.choice(question["options"])["id"]
            expected[(attempt_id, question["id"])] = option_id
            for repeat in range(3):
                save = http_save if (repeat + n) % 2 else socket_save
                via: Any = api if save is http_save else sock
                jobs.append(save(via, attempt_id, question["id"], option_id, lease))
    assert len(jobs) == 3 * 6 * 3
    rng.shuffle(jobs)
    batches, saves = journal.batches, journal.saves

    acks = await asyncio.wait_for(asyncio.gather(*jobs), 20)

    assert all(acked(ack) for ack in acks), [ack for ack in acks if not acked(ack)]
    assert journal.saves - saves == len(jobs)
    assert 0 < journal.batches - batches < len(jobs), "no save shared a commit"
    async with app[SESSIONS]() as db:
        rows = await db.execute(
            select(AttemptItem.attempt_id, AttemptItem.question_id, AttemptItem.chosen_option_id)
        )
        stored = {(a, q): o for a, q, o in rows}
        events = await db.execute(
            select(AnswerEvent.attempt_id, AnswerEvent.question_id, func.count()).group_by(
                AnswerEvent.attempt_id, AnswerEvent.question_id
            )
        )
        event_counts = {(a, q): c for a, q, c in events}
    assert stored == expected
    # The repeats were idempotent: one change, one journal event per answer.
    assert event_counts == dict.fromkeys(expected, 1)


async def test_a_save_racing_a_submit_is_counted_or_refused(
    seed: Seed, client: TestClient[Any, Any], clients: Clients
) -> None:
    app = client.app
    api, sock = await clients.learner("learner1")
    instructor = Identity(seed.users["instructor"], "instructor", "instructor", "", "", "")
    rng = random.Random(11)
    outcomes = {"counted": 0, "refused": 0, "split": 0}
    for round_ in range(30):
        async with app[SESSIONS]() as db:
            quiz = await create_quiz(
                db,
                instructor,
                app[CLOCK].now(),
                program_id=seed.program_id,
                title=f"Гонка {round_}",
                form="testing",
                time_limit_s=600,
                plan=dict.fromkeys(seed.section_ids, 2),
                group_id=seed.group_id,
            )
            await db.commit()
        status, attempt = await api.call("POST", f"/api/tests/{quiz.id}/attempts", json={})
        assert status == 201, attempt
        attempt_id, lease = attempt["attempt_id"], attempt["lease"]
        answers = {
            q["id"]: next(o["id"] for o in q["options"] if is_right(o))
            for q in attempt["questions"]
        }
        # Either side may go first. A submission takes a few more statements than a save
        # (which joins a group commit), so the saves are held back by up to 15 ms and the
        # submission by up to 3 ms: it lands before, between and after the saves' commits.
        lead = rng.uniform(-0.015, 0.003)

        async def save_later(
            i: int, qid: int, oid: int, attempt_id: int, lease: str, lead: float
        ) -> Any:
            await asyncio.sleep(max(0.0, -lead))
            if i % 2:
                return await http_save(api, attempt_id, qid, oid, lease)
            return await socket_save(sock, attempt_id, qid, oid, lease)

        async def submit_later(attempt_id: int, lease: str, lead: float) -> tuple[int, Any]:
            await asyncio.sleep(max(0.0, lead))
            return await api.call(
                "POST", f"/api/attempts/{attempt_id}/submit", json={"lease": lease}
            )

        saves = [
            save_later(i, qid, oid, attempt_id, lease, lead)
            for i, (qid, oid) in enumerate(answers.items())
        ]
        *acks, (status, result) = await asyncio.wait_for(
            asyncio.gather(*saves, submit_later(attempt_id, lease, lead)), 20
        )
        assert status == 200, result
        saved = {qid for (qid, _), ack in zip(answers.items(), acks, strict=True) if acked(ack)}
        for ack in acks:
            if not acked(ack):
                assert ack.get("error") == "attempt_submitted", ack
        async with app[SESSIONS]() as db:
            row = await db.get(Attempt, attempt_id)
            assert row is not None
            items = dict(
                (
                    await db.execute(
                        select(AttemptItem.question_id, AttemptItem.chosen_option_id).where(
                            AttemptItem.attempt_id == attempt_id
                        )
                    )
                ).all()
            )
        assert row.status == "submitted"
        # Every acknowledged answer is stored and counted; every refused one is absent.
        for qid, option_id in answers.items():
            assert items[qid] == (option_id if qid in saved else None), (round_, qid)
        assert row.correct == len(saved) == result["correct"], (round_, saved, row.correct)
        outcomes["counted"] += len(saved)
        outcomes["refused"] += len(answers) - len(saved)
        outcomes["split"] += 0 < len(saved) < len(answers)
    # Both sides of the race happened at least once, or the test proved nothing.
    assert outcomes["counted"] and outcomes["refused"], outcomes
