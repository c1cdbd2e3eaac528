"""Community Pulse: the parts that are not Kafka-facing (CLI, settings, local stack, warehouse)."""
