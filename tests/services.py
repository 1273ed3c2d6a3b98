"""Real servers on loopback for the scale-out tests: a private PostgreSQL cluster (Debian's postgresql package,
installed by `make cluster-deps` when root) and an S3-compatible store (moto's server, from PyPI).

Each starts once per test session in its own temporary folder and is stopped at the end; nothing touches the
machine's own services."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.scaleout import as_postgres_user, postgres_bin, wait_for_port
from pipeline.settings import PROJECT_ROOT

VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", PROJECT_ROOT / ".venv")) / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str
    bin_dir: Path

    def dsn(self, database: str) -> str:
        """libpq keywords, as DuckLake's postgres: catalog takes them."""
        return f"dbname={database} host=127.0.0.1 port={self.port} user={self.user}"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "lake") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        subprocess.run([str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                        "-d", "postgres", "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
        return name


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not installed (make cluster-deps)")
    try:
        prefix = as_postgres_user()
    except KeyError:
        pytest.skip("running as root and there is no postgres user to run the server as")
    home = Path(tempfile.mkdtemp(prefix="newswatch-pg-"))
    data = home / "data"
    if prefix:
        shutil.chown(home, "postgres", "postgres")
    port = free_port()
    user = "newswatch"
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "--no-sync",
                    "-E", "UTF8"], check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off -c max_connections=200"
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"),
                    "-w", "start"], check=True, capture_output=True)
    try:
        wait_for_port(port, "PostgreSQL", 30)
        yield Postgres(port, user, bin_dir)
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@dataclass(frozen=True)
class S3:
    endpoint: str  # host:port
    bucket: str
    key_id: str = "testing"
    secret: str = "testing"

    def env(self, prefix: str) -> dict[str, str]:
        """NEWSWATCH_* settings for a lake whose data lives under s3://bucket/prefix/."""
        return {"NEWSWATCH_DATA_PATH": f"s3://{self.bucket}/{prefix}/", "NEWSWATCH_S3_ENDPOINT": self.endpoint,
                "NEWSWATCH_S3_ACCESS_KEY_ID": self.key_id, "NEWSWATCH_S3_SECRET_ACCESS_KEY": self.secret,
                "NEWSWATCH_S3_USE_SSL": "false", "NEWSWATCH_S3_URL_STYLE": "path"}


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    server = VENV_BIN / "moto_server"
    if not server.exists():
        pytest.skip("moto[server] is not installed")
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="newswatch-moto-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    try:
        wait_for_port(port, "moto S3", 60)
        import boto3

        bucket = "newswatch-lake"
        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="testing",
                     aws_secret_access_key="testing", region_name="us-east-1").create_bucket(Bucket=bucket)
        yield S3(f"127.0.0.1:{port}", bucket)
    finally:
        process.terminate()
        process.wait(timeout=30)
        os.unlink(log.name)
