"""The `pulse` Typer app and what every command shares: one-line errors, logging, settings."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from pulse.cli.logs import configure_logging
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
bi_app = typer.Typer(
    help="Who sees which brand in marts (per-brand roles; pulse_bi sees every brand).",
    no_args_is_help=True,
)
app.add_typer(bi_app, name="bi")

# Off a terminal, never wrap at 80 columns: a line is one line in a log.
console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())
out = Console(soft_wrap=not sys.stdout.isatty())
F = TypeVar("F", bound=Callable[..., Any])


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
    try:
        state_dir = Settings().state_dir
    except ValueError:  # an invalid setting is reported by the command that reads it
        state_dir = Settings.model_fields["state_dir"].default
    configure_logging(console, verbose=verbose, state_dir=state_dir)


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
