"""What a local Airflow run prints: everything to a log file, the pipeline's own lines to us.

`dag.test()` writes Airflow's own logging (migrations, task runner, scheduling: a hundred lines a
run) and the steps' logging to its stdout, one structured line each:

    2026-12-01T23:54:54Z [info     ] ingest is fresh: ... [pulse.orchestration.freshness] loc=...

The relay keeps the whole stream in a file under the state folder and logs only the lines of
the `pulse.*` loggers again in this process (all of them when debug logging is on), so a run
shows its steps and a reader who needs Airflow's side knows where it is.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

logger = logging.getLogger("pulse.orchestration.airflow")

_LINE = re.compile(
    r"^\S+ \[(?P<level>\w+)\s*\] (?P<message>.*?) \[(?P<logger>[\w.]+)\](?: \S+=\S+)*$"
)
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def run_log_path(state_dir: Path) -> Path:
    """A new log file for one local Airflow run, under `<state>/logs/airflow/`."""
    folder = Path(state_dir) / "logs" / "airflow"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.log"


class AirflowLogRelay:
    """Reads a child's stdout on a thread: every line to `path`, the pipeline's lines to us."""

    def __init__(self, stream: IO[str], path: Path) -> None:
        self.path = path
        self._stream = stream
        self._echo_all = logging.getLogger().isEnabledFor(logging.DEBUG)
        self._thread = threading.Thread(target=self._relay, name="airflow-log-relay", daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        with self.path.open("a", encoding="utf-8") as log:
            for line in self._stream:
                log.write(line)
                log.flush()
                self._echo(line.rstrip("\n"))

    def _echo(self, line: str) -> None:
        match = _LINE.match(line)
        if match and match["logger"].startswith("pulse."):
            level = _LEVELS.get(match["level"].lower(), logging.ERROR)
            logger.log(level, "%s", match["message"])
        elif self._echo_all and line.strip():
            logger.debug("%s", line)

    def join(self, timeout: float = 5.0) -> None:
        """Wait for the child's stdout to close (it does when the child exits)."""
        self._thread.join(timeout)
