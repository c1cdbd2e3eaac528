"""The `pulse` Typer app and what every command shares: one-line errors, logging, settings."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from pulse.errors import PulseError
from pulse.settings import Settings

app = typer.Typer(
    help="Community Pulse: micro-community engagement pipeline (Kafka -> Postgres -> dbt -> BI).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Warehouse administration.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console(stderr=True)
out = Console()
F = TypeVar("F", bound=Callable[..., Any])


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=False)],
    )
    # kafka-python is chatty about reconnects we already retry and report ourselves.
    logging.getLogger("kafka").setLevel(logging.ERROR if not verbose else logging.INFO)


def _is_unreachable(error: BaseException) -> bool:
    import psycopg
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError

    return isinstance(
        error,
        ConnectionError | psycopg.OperationalError | KafkaConnectionError | KafkaTimeoutError,
    )


def friendly(func: F) -> F:
    """Turn the project's own errors (and unreachable services) into one line and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PulseError as error:
            console.print(f"[red]error:[/red] {' '.join(str(error).split())}", highlight=False)
            raise typer.Exit(1) from None
        except Exception as error:
            # Unreachable services surface as driver errors; name them in one line, no traceback.
            if not _is_unreachable(error):
                raise
            first = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            console.print(f"[red]error:[/red] a service is unreachable ({first}); is it running?")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Community Pulse command line. Configuration comes from PULSE_* environment variables."""
    _configure_logging(verbose)


def load_settings() -> Settings:
    return Settings()


def option_moment(value: str | None, option: str) -> Any:
    """An ISO 8601 timestamp; without an offset it is UTC (pulse.timestamps)."""
    if value is None:
        return None
    from pulse.timestamps import parse_moment

    try:
        return parse_moment(value, option)
    except PulseError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None
