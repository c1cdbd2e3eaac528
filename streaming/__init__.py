"""Kafka-facing code: the inbound contract, validation, the Postgres sink and the consumer loop."""
