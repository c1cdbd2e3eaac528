"""The consumer's Prometheus metrics, served on `/metrics` when a port is configured.

README, "How to operate", lists every metric and what it means. Each consumer process has its
registry and its port (`pulse consume --processes N`: the base port + i), so no multiprocess
mode is needed and the per-partition lag of a process is that process's own partitions.
Everything here is updated per batch or per partition check, never per event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streaming.errors import MetricsEndpointError

logger = logging.getLogger(__name__)

# From a small batch on an idle stream (~10 ms) to a batch waiting out an outage.
_BATCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
_COMMIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class IngestMetrics:
    """The counters, gauges and histograms of one consumer (a registry of its own, so tests can
    run several consumers in one process)."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "pulse_ingest_messages", "Messages committed (events, duplicates, dead letters).",
            registry=r,
        )  # fmt: skip
        self.events = Counter("pulse_ingest_events", "Events stored.", registry=r)
        self.duplicates = Counter(
            "pulse_ingest_duplicates", "Events not stored: their event id was stored already.",
            registry=r,
        )  # fmt: skip
        self.dead_letters = Counter(
            "pulse_ingest_dead_letters", "Dead letters stored, by reason.", ["reason"], registry=r
        )
        self.dead_letters_unpublished = Counter(
            "pulse_ingest_dead_letters_unpublished",
            "Dead letters the DLQ topic refused or did not take in time (Postgres only).",
            registry=r,
        )
        self.batches = Counter("pulse_ingest_batches", "Batches committed.", registry=r)
        self.batch_seconds = Histogram(
            "pulse_ingest_batch_seconds",
            "Poll to commit: from a batch's first poll to its PostgreSQL commit.",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "pulse_ingest_commit_seconds",
            "The batch's PostgreSQL transaction (COPY, insert, offsets, commit), per attempt "
            "that committed.",
            buckets=_COMMIT_BUCKETS,
            registry=r,
        )
        self.last_commit = Gauge(
            "pulse_ingest_last_commit_timestamp_seconds",
            "Unix time of the last batch commit (0: none yet).",
            registry=r,
        )
        self.gaps = Counter(
            "pulse_ingest_gaps", "Ingest gaps detected and recorded, by cause.", ["cause"],
            registry=r,
        )  # fmt: skip
        self.fenced_batches = Counter(
            "pulse_ingest_fenced_batches",
            "Batches the offset fence refused (another consumer owned the partition).",
            registry=r,
        )
        self._server: Any = None

    def watch_lag(self, lags: Callable[[], dict[int, int]]) -> None:
        """Report `lags()` (partition -> lag of the partitions owned now) at every scrape."""
        self.registry.register(_LagCollector(self.topic, lags))

    # -- the endpoint ------------------------------------------------------------------------

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics on host:port from a daemon thread, until `close`.

        Raises:
            MetricsEndpointError: it cannot listen there (a port in use, an unknown address).
        """
        try:
            self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as error:
            raise MetricsEndpointError(
                f"cannot serve metrics on {host}:{port}: {error.strerror or error}"
            ) from None
        logger.info("serving Prometheus metrics on http://%s:%d/metrics", host, port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            logger.info("stopped serving Prometheus metrics")

    # -- updates -------------------------------------------------------------------------------

    def committed(
        self,
        messages: int,
        inserted: int,
        duplicates: int,
        reasons: Iterable[tuple[str, bool]],
        poll_to_commit_s: float | None,
        commit_s: float,
    ) -> None:
        """One batch committed; `reasons` holds (reason, published) of each dead letter."""
        self.batches.inc()
        self.messages.inc(messages)
        self.events.inc(inserted)
        self.duplicates.inc(duplicates)
        for reason, published in reasons:
            self.dead_letters.labels(reason).inc()
            if not published:
                self.dead_letters_unpublished.inc()
        if poll_to_commit_s is not None:
            self.batch_seconds.observe(poll_to_commit_s)
        self.commit_seconds.observe(commit_s)
        self.last_commit.set(time.time())


class _LagCollector(Collector):
    """Lag and owned partitions, computed when scraped: what the consumer knows at that moment,
    even while its loop waits (for the writer during an outage, say)."""

    def __init__(self, topic: str, lags: Callable[[], dict[int, int]]) -> None:
        self._topic = topic
        self._lags = lags

    def describe(self) -> list[Any]:
        return []  # nothing to check at registration; collect() is only called by scrapes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            lags = self._lags()
        except Exception:  # a scrape must never fail because a partition moved meanwhile
            logger.debug("lag not computed", exc_info=True)
            lags = {}
        lag = GaugeMetricFamily(
            "pulse_ingest_lag",
            "Messages between the offset stored in PostgreSQL and the partition end this "
            "consumer knows (the high watermark of its last fetch), per partition it owns.",
            labels=["topic", "partition"],
        )
        for partition, value in sorted(lags.items()):
            lag.add_metric([self._topic, str(partition)], value)
        yield lag
        yield GaugeMetricFamily(
            "pulse_ingest_partitions", "Partitions this consumer owns and knows the end of.",
            value=len(lags),
        )  # fmt: skip
