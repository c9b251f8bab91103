"""How many evaluations run at once: the admission gate and the bounds it follows."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from evolve.sandbox.capacity import MAX_PER_CORE, Bounds, Capacity, local_bounds


def test_until_something_finished_an_evaluation_counts_as_a_core():
    cap = Capacity(Bounds(hard=64, cores=2))
    assert cap.share() == 1.0 and cap.limit() == 2


def test_candidates_that_mostly_wait_let_more_evaluations_run():
    cap = Capacity(Bounds(hard=64, cores=2))
    cap.record(cpu=0.05, wall=0.2, wait=0.0)  # a quarter of a core
    assert cap.limit() == 8
    fresh = Capacity(Bounds(hard=64, cores=2))
    fresh.record(cpu=0.001, wall=1.0, wait=0.0)  # at least 1/MAX_PER_CORE of a core each
    assert fresh.limit() == 2 * MAX_PER_CORE


def test_cpu_bound_candidates_are_limited_to_the_cores_even_on_a_loaded_machine():
    cap = Capacity(Bounds(hard=64, cores=2))
    # 1 s of CPU in 3 s, 2 of them waiting for a CPU: starved, not idle.
    cap.record(cpu=1.0, wall=3.0, wait=2.0)
    assert cap.limit() == 2
    cap.record(cpu=1.0, wall=0.5, wait=0.0)  # threads on two cores: never below one per core
    assert cap.limit() == 2


def test_a_long_computing_candidate_weighs_in_by_its_length_and_ages_out():
    cap = Capacity(Bounds(hard=64, cores=4))
    for _ in range(16):
        cap.record(cpu=0.05, wall=0.2)
    assert cap.limit() == 16
    cap.record(cpu=2.0, wall=2.0)  # (15 x 0.05 + 2) / (15 x 0.2 + 2) = 0.55 of a core each
    assert cap.limit() == 7
    for _ in range(16):
        cap.record(cpu=0.05, wall=0.2)
    assert cap.limit() == 16


def test_one_odd_measurement_does_not_swing_the_limit():
    cap = Capacity(Bounds(hard=64, cores=2))
    for _ in range(15):
        cap.record(cpu=0.05, wall=0.2)
    cap.record(cpu=0.01, wall=0.011, wait=0.0105)  # almost all waiting: a share of 20 on its own
    assert cap.limit() == 7


def test_unknown_cpu_counts_as_a_core_and_the_setting_caps():
    cap = Capacity(Bounds(hard=64, cores=8), cap=3)
    cap.record(cpu=None, wall=1.0)
    assert cap.hard == 3 and cap.limit() == 3
    assert Capacity(Bounds(hard=5, cores=8)).limit() == 5


def test_memory_bounds_the_evaluations():
    assert local_bounds(memory_mb=10**9).hard == 1  # a terabyte each: one at a time
    bounds = local_bounds(memory_mb=64)
    assert 1 <= bounds.hard <= MAX_PER_CORE * bounds.cores
    assert local_bounds(memory_mb=64, cap=2).hard <= 2


def test_threads_wait_for_a_slot_in_turn():
    cap = Capacity(Bounds(hard=2, cores=2))
    running, peak, lock = [0], [0], threading.Lock()
    go = threading.Event()
    order: list[int] = []

    def evaluation(i: int) -> None:
        with cap.slot():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
                order.append(i)
            go.wait(timeout=30)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=evaluation, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    while True:  # the first two hold their slots; the others queue
        with cap._lock:
            if len(cap._waiters) == 4:
                break
        time.sleep(0.01)
    assert cap.running == 2
    go.set()
    for t in threads:
        t.join(timeout=30)
    assert peak[0] == 2 and sorted(order) == list(range(6)) and cap.running == 0


def test_the_event_loop_waits_without_blocking_and_cancelled_waiters_give_up_their_turn():
    cap = Capacity(Bounds(hard=1, cores=1))

    async def main() -> list[str]:
        seen: list[str] = []
        release_first = asyncio.Event()

        async def evaluation(name: str) -> None:
            async with cap.async_slot():
                seen.append(name)
                if name == "first":
                    await release_first.wait()

        first = asyncio.create_task(evaluation("first"))
        await asyncio.sleep(0)
        doomed = asyncio.create_task(evaluation("doomed"))
        last = asyncio.create_task(evaluation("last"))
        await asyncio.sleep(0)
        assert seen == ["first"] and cap.running == 1  # the loop runs on while the others wait
        doomed.cancel()
        await asyncio.sleep(0)
        release_first.set()
        await asyncio.gather(first, last)
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return seen

    assert asyncio.run(main()) == ["first", "last"]
    assert cap.running == 0 and not cap._waiters
