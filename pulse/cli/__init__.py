"""`pulse`: the one console script, one module per command group. Exit codes: 0 ok, 1 failure
(one line says what), 2 usage."""

from pulse.cli.app import app

# The command groups register themselves on import, and `--help` lists them in this order:
# from the stack up to what the pipeline shows.
# isort: off
from pulse.cli import stack, warehouse, ingest, pipeline, maintenance, outputs
# isort: on

__all__ = ["app", "ingest", "maintenance", "outputs", "pipeline", "stack", "warehouse"]
