"""The DLQ topic publisher: rejected records, original key and value, `pulse.*` headers."""

from __future__ import annotations

import logging

from kafka import KafkaProducer

from streaming.decode import DeadLetter

logger = logging.getLogger(__name__)


class DeadLetterPublisher:
    """Publishes dead letters and waits for the broker's acknowledgement of every one."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._topic = topic
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="pulse-dlq",
            acks="all",
            linger_ms=5,
            # Oversized values (> 1 MiB) are dead letters too and must fit in a request.
            max_request_size=16 * 1024 * 1024,
            retries=5,
        )

    def publish(self, letters: list[DeadLetter], timeout_s: float = 30.0) -> None:
        """Send and confirm; raises kafka.errors.KafkaError when the broker did not take them."""
        futures = [
            self._producer.send(
                self._topic,
                key=letter.key,
                value=letter.value,
                headers=letter.dlq_headers(),
            )
            for letter in letters
        ]
        self._producer.flush(timeout=timeout_s)
        for future in futures:
            future.get(timeout=timeout_s)

    def close(self) -> None:
        self._producer.close(timeout=5)
