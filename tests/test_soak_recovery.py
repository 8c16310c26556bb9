"""How `supportbot bench soak` decides that a fault is over, and which memory growth it reports
(bench/soak_faults.py, bench/soak.py): the rules on given outcomes; the whole soak is tests/contract."""

from __future__ import annotations

import asyncio

from bench.soak import growth_pct
from bench.soak_faults import PROBES_IN_A_ROW, until_answering


def scripted(outcomes: list[str]):
    """Probe outcomes in order, each ending one second after the one before (fake clock values)."""
    ends = iter(range(1, 1000))

    async def ask(n: int) -> tuple[str, float]:
        return outcomes[n - 1], float(next(ends))

    return ask


def test_recovered_at_the_first_normal_answer_of_three_in_a_row_and_failures_are_counted():
    failed: dict = {}
    outcomes = ["timeout", "ok", "notice rasa_unavailable", "ok", "ok", "ok", "ok"]
    assert PROBES_IN_A_ROW == 3
    restored = asyncio.run(until_answering(scripted(outcomes), 60, failed))
    assert restored == 4.0  # probe 2 was normal but probe 3 was not: the run of three starts at probe 4
    assert failed == {"timeout": 1, "notice rasa_unavailable": 1}


def test_never_recovered_within_the_limit_is_none():
    async def never(_n: int) -> tuple[str, float]:
        await asyncio.sleep(0.01)
        return "error store_unavailable", 0.0

    failed: dict = {}
    assert asyncio.run(until_answering(never, 0.3, failed)) is None
    assert failed["error store_unavailable"] >= 1


def test_memory_growth_leaves_out_processes_restarted_since_minute_2():
    memory = {"rasa": {"start": 700.0, "minute_2": 800.0, "end": 880.0},
              "rasa-1": {"start": 700.0, "minute_2": 800.0, "end": 900.0},
              "bot": {"start": 100.0, "end": 120.0}}  # a run shorter than 2 minutes: never sampled
    assert growth_pct(memory, {"rasa": False, "rasa-1": True, "bot": False}) == {
        "rasa": 10.0, "rasa-1": None, "bot": None}
