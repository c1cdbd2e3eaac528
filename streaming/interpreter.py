"""How the consumer sets up the Python interpreter for its loop (and puts it back afterwards).

Two defaults of CPython cost the consumer a third of its time (README, "Benchmarks"):

- The cyclic garbage collector runs a young collection every 700 allocations and, every so
  often, a full one over every live object. A batch allocates several container objects per
  event (pydantic models, tuples, Kafka records), so the collector ran hundreds of times per
  batch and rescanned the batch in hand, the pydantic schemas and the VADER lexicon each time,
  for garbage that is almost never cyclic: reference counting frees it. Objects alive when the
  loop starts are frozen (never scanned again) and the young generation is made big enough for a
  batch; cycles (exceptions with tracebacks, mostly) are still collected, just less often.
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

# Young-generation threshold: about two batches' worth of allocations (5,000 events, ~10
# objects each) between young collections instead of 700.
GC_GEN0_THRESHOLD = 100_000
# How long the loop thread may hold the GIL while the writer waits for it.
SWITCH_INTERVAL_S = 0.0005


@contextmanager
def tuned() -> Iterator[None]:
    """Collector thresholds and switch interval for the loop, restored afterwards."""
    thresholds = gc.get_threshold()
    interval = sys.getswitchinterval()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *thresholds[1:])
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
