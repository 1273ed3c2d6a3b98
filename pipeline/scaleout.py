"""The cluster profile (``make cluster`` / ``make cluster-stop``): on loopback, PostgreSQL (the Airflow metadata
DB and the DuckLake catalog), Redis (the Celery broker), an S3-compatible store (moto) for the lake's data, and
Airflow's api-server, scheduler, dag-processor and two Celery workers, all configured as one deployment.

Everything lives under one home folder (default ``.cluster``): data, logs, the settings as a sourceable
``env.sh``, and one pid file per process started, so that ``stop`` stops exactly what ``start`` started.
Pointing the same settings at a real PostgreSQL, S3 and Redis is the production shape (README: Scale-out)."""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
BUCKET = "newswatch-lake"
PG_USER = "newswatch"
WORKERS = 2


@dataclass(frozen=True)
class Ports:
    postgres: int
    redis: int
    s3: int
    api: int
    worker_logs: tuple[int, ...]

    @classmethod
    def free(cls, workers: int = WORKERS) -> Ports:
        taken: list[socket.socket] = []
        try:
            for _ in range(4 + workers):
                sock = socket.socket()
                sock.bind(("127.0.0.1", 0))
                taken.append(sock)
            numbers = [int(s.getsockname()[1]) for s in taken]
        finally:
            for sock in taken:
                sock.close()
        return cls(numbers[0], numbers[1], numbers[2], numbers[3], tuple(numbers[4:]))


def newswatch_settings(env: dict[str, str]) -> dict[str, str]:
    """The NEWSWATCH_* variables of a deployment's environment as Settings fields (``Settings(**...)``)."""
    return {k.removeprefix("NEWSWATCH_").lower(): v for k, v in env.items() if k.startswith("NEWSWATCH_")}


def wait_for_port(port: int, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout_s:g} s")


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL server binaries (newest version installed), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _postgres_bin() -> Path:
    found = postgres_bin()
    if found is None:
        raise SystemExit("PostgreSQL server not installed: run `make cluster-deps` (Debian postgresql) as root")
    return found


def as_postgres_user() -> list[str]:
    """initdb and postgres refuse root: as root, run them as Debian's postgres user (KeyError: there is none)."""
    if os.geteuid() != 0:
        return []
    pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"]


def environment(home: Path, ports: Ports) -> dict[str, str]:
    """Every setting of the deployment: Airflow on Celery + PostgreSQL, newswatch on a DuckLake on S3."""
    pg = f"127.0.0.1:{ports.postgres}"
    return {
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": "16",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "16",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{PG_USER}@{pg}/airflow",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{ports.redis}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{PG_USER}@{pg}/airflow",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{ports.api}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(ports.api),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{ports.api}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "airflow" / "passwords.json"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        # newswatch: the lake's catalog in PostgreSQL, its data on S3; per-host request slots in the same server
        "NEWSWATCH_WAREHOUSE": f"ducklake:postgres:dbname=lake host=127.0.0.1 port={ports.postgres} user={PG_USER}",
        "NEWSWATCH_DATA_PATH": f"s3://{BUCKET}/lake/",
        "NEWSWATCH_S3_ENDPOINT": f"127.0.0.1:{ports.s3}",
        "NEWSWATCH_S3_ACCESS_KEY_ID": "cluster", "NEWSWATCH_S3_SECRET_ACCESS_KEY": "cluster",
        "NEWSWATCH_S3_USE_SSL": "false", "NEWSWATCH_S3_URL_STYLE": "path",
        # fetched bodies are landed by one worker and parsed by another: a folder both see
        "NEWSWATCH_LANDING_DIR": str(home / "landing"),
        "NEWSWATCH_DIGEST_DIR": str(home / "digests"),
        "NEWSWATCH_VALIDATION_DIR": str(home / "validation"),
    }


class Cluster:
    def __init__(self, home: Path) -> None:
        self.home = home.resolve()
        self.pids = self.home / "pids"
        self.logs = self.home / "logs"

    @property
    def env_file(self) -> Path:
        return self.home / "env.json"

    def settings(self) -> dict[str, str]:
        return json.loads(self.env_file.read_text(encoding="utf-8"))

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:  # the child keeps its own copy of the handle
            process = subprocess.Popen(args, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                       start_new_session=True)  # its own process group: stop takes it whole
        (self.pids / f"{name}.pid").write_text(str(process.pid), encoding="utf-8")

    def start(self, feeds_file: Path | None = None, extra_env: dict[str, str] | None = None,
              workers: int = WORKERS) -> dict[str, str]:
        """The whole deployment with ``workers`` Celery workers (concurrency 4 each)."""
        env_settings, ports = self._prepare(feeds_file, extra_env, workers)
        env = {**os.environ, **env_settings}
        try:
            self._start_storage(ports, env)
            self._spawn("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(ports.redis), "--save", "",
                                  "--appendonly", "no"], env)
            wait_for_port(ports.redis, "Redis")
            airflow = str(BIN / "airflow")
            for step in (["db", "migrate"], ["pools", "set", "warehouse", "4", "lake writers side by side"],
                         ["pools", "set", "feeds", "4", "concurrent feed polls"]):
                subprocess.run([airflow, *step], env=env, check=True, capture_output=True)
            # the lake's schema once, before writers race to create it
            subprocess.run([str(BIN / "newswatch"), "ingest", "--no-feeds", "--no-seeds", "--json"], env=env,
                           check=True, capture_output=True)
            for component in ("api-server", "scheduler", "dag-processor"):
                self._spawn(component, [airflow, component], env)
            for number, log_port in enumerate(ports.worker_logs, start=1):
                worker_env = {**env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port)}
                if number == 2:  # on one machine, the second worker names itself by address: the UI tells them apart
                    worker_env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = "airflow.utils.net.get_host_ip_address"
                self._spawn(f"worker{number}", [airflow, "celery", "worker", "--celery-hostname",
                                                f"worker{number}@%h", "--concurrency", "4"], worker_env)
            self._wait_healthy(ports.api)
        except BaseException:
            self.stop()
            raise
        return env_settings

    def start_storage(self, databases: tuple[str, ...] = ()) -> dict[str, str]:
        """Only the lake's servers (PostgreSQL catalog, moto S3): the warehouse without Airflow, e.g. to measure
        its load against the DuckDB file's. ``databases``: more catalogs to create beside ``lake``."""
        env_settings, ports = self._prepare(None, None, 0)
        try:
            self._start_storage(ports, {**os.environ, **env_settings}, databases)
        except BaseException:
            self.stop()
            raise
        return env_settings

    def _prepare(self, feeds_file: Path | None, extra_env: dict[str, str] | None,
                 workers: int) -> tuple[dict[str, str], Ports]:
        if self.pids.exists() and any(self.pids.glob("*.pid")):
            raise SystemExit(f"a cluster is already running from {self.home} (make cluster-stop)")
        for folder in (self.pids, self.logs, self.home / "airflow", self.home / "landing"):
            folder.mkdir(parents=True, exist_ok=True)
        ports = Ports.free(workers)
        env_settings = environment(self.home, ports)
        env_settings["AIRFLOW__API_AUTH__JWT_SECRET"] = secrets.token_hex(32)  # one secret for every component
        env_settings["AIRFLOW__API__SECRET_KEY"] = secrets.token_hex(32)
        if feeds_file is not None:
            env_settings["NEWSWATCH_FEEDS_FILE"] = str(Path(feeds_file).resolve())
        env_settings.update(extra_env or {})
        self.env_file.write_text(json.dumps(env_settings, indent=1), encoding="utf-8")
        (self.home / "env.sh").write_text("".join(f"export {k}='{v}'\n" for k, v in env_settings.items()),
                                          encoding="utf-8")
        return env_settings, ports

    def _start_storage(self, ports: Ports, env: dict[str, str], databases: tuple[str, ...] = ()) -> None:
        self._start_postgres(ports.postgres, ("airflow", "lake", *databases))
        self._spawn("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(ports.s3)], env)
        wait_for_port(ports.s3, "moto S3")
        self._create_bucket(ports.s3)

    def _start_postgres(self, port: int, databases: tuple[str, ...]) -> None:
        bin_dir = _postgres_bin()
        as_postgres = as_postgres_user()
        data = self.home / "postgres"
        if as_postgres:
            os.chmod(self.home, 0o755)
            if subprocess.run([*as_postgres, "test", "-x", str(self.home)], capture_output=True).returncode:
                raise SystemExit(f"the postgres user cannot reach {self.home} (a parent folder is private): "
                                 "choose another CLUSTER_HOME")
        # moto keeps the lake's files in memory: a catalog from an earlier start would point at files that are
        # gone, so every start begins with an empty catalog and metadata DB
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir()
        if as_postgres:
            shutil.chown(data, "postgres", "postgres")
        subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, "-A", "trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c max_connections=300"
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                        str(data / "server.log"), "-w", "start"], check=True, capture_output=True)
        (self.pids / "postgres.pid").write_text((data / "postmaster.pid").read_text().split()[0], encoding="utf-8")
        for database in databases:
            subprocess.run([str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER, "-d",
                            "postgres", "-qc", f"CREATE DATABASE {database}"], check=False, capture_output=True)

    @staticmethod
    def _create_bucket(port: int) -> None:
        import boto3

        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="cluster",
                     aws_secret_access_key="cluster", region_name="us-east-1").create_bucket(Bucket=BUCKET)

    def _wait_healthy(self, port: int, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5) as reply:
                    health = json.load(reply)
                if health.get("scheduler", {}).get("status") == "healthy":
                    return
            except OSError:
                pass
            time.sleep(1)
        raise RuntimeError(f"Airflow did not become healthy within {timeout_s:g} s; see {self.logs}")

    def stop(self) -> list[str]:
        """Stop every process this home started (each its whole process group), and nothing else."""
        stopped = []
        for pid_file in sorted(self.pids.glob("*.pid")) if self.pids.exists() else []:
            pid = int(pid_file.read_text(encoding="utf-8").strip())
            if pid_file.stem == "postgres":
                data = self.home / "postgres"
                subprocess.run([*as_postgres_user(), str(_postgres_bin() / "pg_ctl"), "-D", str(data), "-m", "fast",
                                "-w", "stop"], capture_output=True)
            else:
                _terminate_group(pid)
            pid_file.unlink()
            stopped.append(pid_file.stem)
        return stopped


def _terminate_group(pid: int, grace_s: float = 20.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.scaleout", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / ".cluster")
    parser.add_argument("--feeds", type=Path, default=None, help="feed list (default: NEWSWATCH_FEEDS_FILE)")
    parser.add_argument("--workers", type=int, default=WORKERS, choices=range(1, 9), metavar="1..8",
                        help=f"Celery workers (default {WORKERS})")
    args = parser.parse_args(argv)
    cluster = Cluster(args.home)
    if args.action == "start":
        settings = cluster.start(args.feeds, workers=args.workers)
        print(f"cluster up from {cluster.home}: Airflow UI {settings['AIRFLOW__API__BASE_URL']} (admin; password in "
              f"{settings['AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE']}), warehouse "
              f"{settings['NEWSWATCH_WAREHOUSE']} on {settings['NEWSWATCH_DATA_PATH']}; "
              f"`source {cluster.home / 'env.sh'}` to use the CLIs; stop with `make cluster-stop`")
    else:
        stopped = cluster.stop()
        print(f"stopped {', '.join(stopped) if stopped else 'nothing (no cluster running from this home)'}")


if __name__ == "__main__":
    main()
