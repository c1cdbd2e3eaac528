"""`python -m pulse.cli ...`: the same as the `pulse` console script."""

from pulse.cli import app

app()
