"""`streaming.interpreter`: the loop's collector settings and its collections per batch.

The garbage here is built the way kafka-python builds it when a fetch wait times out inside
`KafkaConsumer.poll`: a local holds the exception it re-raises, so the exception, its traceback
and the frames on it form a cycle, and those frames keep their callers' frames with the poll's
result once the calls return.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from streaming.interpreter import (
    COLLECT_EVERY_BATCHES,
    FULL_EVERY_COLLECTIONS,
    GC_GEN0_THRESHOLD,
    BatchCollections,
    tuned,
)


class _Record:
    """Stands in for a Kafka record (a plain list element cannot be watched with a weakref)."""


def _wait_that_times_out() -> None:
    state: dict[str, BaseException] = {}
    try:
        raise TimeoutError("I/O wait timed out")
    except TimeoutError as error:
        state["exception"] = error
    raise state["exception"]  # `state` still holds it: exception -> traceback -> this frame


def _fetch() -> dict[str, list[_Record]]:
    # What kafka-python does: the wait timed out, and the records that came meanwhile are returned.
    with contextlib.suppress(TimeoutError):
        _wait_that_times_out()
    return {"partition-0": [_Record() for _ in range(3)]}


def _poll() -> dict[str, list[_Record]]:
    polled = _fetch()
    return polled  # a local of this frame, which the cycle above keeps


@pytest.fixture
def collections() -> Iterator[BatchCollections]:
    with tuned() as collections:
        yield collections


def test_a_timed_out_wait_keeps_the_poll_until_the_batch_collection(
    collections: BatchCollections,
) -> None:
    polled = _poll()
    kept = weakref.ref(polled["partition-0"][0])
    del polled
    for _ in range(COLLECT_EVERY_BATCHES - 1):
        assert collections.after_batch() is None
    assert kept() is not None, "nothing but a collection frees it (why the loop collects)"
    assert collections.after_batch() == 0
    assert kept() is None


def test_emptying_the_poll_frees_its_records_before_any_collection(
    collections: BatchCollections,
) -> None:
    polled = _poll()
    kept = weakref.ref(polled["partition-0"][0])
    polled.clear()  # what the loop does once a poll is decoded
    del polled
    assert kept() is None


def test_every_tenth_collection_covers_every_generation(collections: BatchCollections) -> None:
    collected: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collected.append(info["generation"])

    gc.callbacks.append(watch)
    try:
        returned = [
            collections.after_batch() for _ in range(COLLECT_EVERY_BATCHES * FULL_EVERY_COLLECTIONS)
        ]
    finally:
        gc.callbacks.remove(watch)
    # The young threshold is far away, so every collection seen is one of the loop's own.
    assert collected == [0] * (FULL_EVERY_COLLECTIONS - 1) + [2]
    assert [g for g in returned if g is not None] == collected
    assert returned.index(0) == COLLECT_EVERY_BATCHES - 1


def test_tuned_settings_hold_inside_the_loop_only() -> None:
    before = (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count())
    with tuned():
        assert gc.get_threshold()[0] == GC_GEN0_THRESHOLD
        assert gc.get_freeze_count() > 0  # what was alive before the loop is not scanned again
        assert sys.getswitchinterval() <= before[1]
    assert (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()) == before
