"""How the consumer sets up the Python interpreter for its loop (and puts it back afterwards).

Two defaults of CPython cost the consumer a third of its time (README, "Benchmarks"):

- The cyclic garbage collector runs a young collection every 700 allocations and, every so
  often, a full one over every live object. A batch allocates several container objects per
  event (pydantic models, tuples, Kafka records), so the collector ran hundreds of times per
  batch and rescanned the batch in hand, the pydantic schemas and the VADER lexicon each time,
  for garbage that is almost never cyclic: reference counting frees it. Objects alive when the
  loop starts are frozen (never scanned again) and the automatic young collection waits for
  `GC_GEN0_THRESHOLD` objects instead of 700.

  That count is of objects allocated *minus* objects freed, and reference counting frees nearly
  everything the loop allocates, so the count seldom gets there: in a 1M-event run no automatic
  collection ran at all, while cyclic garbage piled up. Each time a fetch wait times out inside
  `KafkaConsumer.poll`, kafka-python re-raises an exception that a local of its own still holds:
  a cycle through the traceback. The traceback's frames link to their callers' frames, up to the
  consumer's `_poll`, and those frames keep their locals after the calls return: the poll's
  records with their values and the fetch response they came from (raw record batches), 5 to 10
  MiB each time. The pile grew until it reached the threshold by itself, so the consumer's peak
  memory grew with the length of the backlog (about 125 MiB at 200k events, 170 MiB at 1M). So
  the loop empties each poll's result once it is decoded (the records go at once, whatever
  holds the dict), and `BatchCollections` collects every `COLLECT_EVERY_BATCHES` batches. Such a
  young collection scans only the young objects still alive, mostly the batch in flight: about
  15 ms, about 1% of the loop thread's time at one per 10 batches. Every
  `FULL_EVERY_COLLECTIONS`th collection is a full one, because explicit collections reset the
  counts that would trigger the automatic older-generation collections.
- A thread waiting for the GIL gets it only when the running thread drops it, at the latest after
  the switch interval (5 ms). The writer thread needs the GIL briefly between its waits on
  PostgreSQL, dozens of times per batch, while the loop thread decodes; with 5 ms per hand-over
  the writer took twice as long as its SQL did, and the loop waited for it.

Both are process-wide, so `tuned()` restores them when the loop ends (tests run consumers inside
one pytest process).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Young-generation threshold (objects allocated minus objects freed). The loop seldom gets
# there (module docstring): collections follow batches instead, and this is only a backstop.
GC_GEN0_THRESHOLD = 100_000
# The loop collects once every this many batches (at most a few fetch responses' worth of
# garbage waits), and every this many collections over every generation (garbage that was still
# alive at an earlier collection is no longer young).
COLLECT_EVERY_BATCHES = 10
FULL_EVERY_COLLECTIONS = 10
# How long the loop thread may hold the GIL while the writer waits for it.
SWITCH_INTERVAL_S = 0.0005


class BatchCollections:
    """The loop's cyclic garbage collections, counted in batches (module docstring)."""

    def __init__(self) -> None:
        self.batches = 0

    def after_batch(self) -> int | None:
        """Count one batch handed to the writer and collect when one is due.

        Returns:
            The generation collected (0, or 2 for a full collection); None when none was due.
        """
        self.batches += 1
        if self.batches % COLLECT_EVERY_BATCHES:
            return None
        collections = self.batches // COLLECT_EVERY_BATCHES
        generation = 2 if collections % FULL_EVERY_COLLECTIONS == 0 else 0
        gc.collect(generation)
        return generation


@contextmanager
def tuned() -> Iterator[BatchCollections]:
    """Collector thresholds and switch interval for the loop, restored afterwards; the loop
    calls the `BatchCollections` it yields after each batch."""
    thresholds = gc.get_threshold()
    interval = sys.getswitchinterval()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *thresholds[1:])
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL_S))
    try:
        yield BatchCollections()
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
