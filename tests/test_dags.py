"""DAG integrity (Astronomer style): imports cleanly, tagged, retried, pooled, nothing heavy at parse time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.settings import PROJECT_ROOT

DAGS = PROJECT_ROOT / "dags"
PLUGINS = PROJECT_ROOT / "plugins"
EXPECTED = {"newswatch_ingest", "newswatch_digest", "newswatch_maintenance", "newswatch_today"}
# a failed feed is polled again on its own schedule (with backoff): retrying it at once would only hammer it
NOT_RETRIED = {("newswatch_ingest", "poll_feed")}


def _airflow_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}",
        "NEWSWATCH_DB": str(tmp_path / "never" / "created.duckdb"),
    })
    return env


_PARSE_PROBE = """
import json, sys
from pathlib import Path
from airflow.dag_processing.dagbag import BundleDagBag  # what Airflow's processes use: the folder is importable
bag = BundleDagBag(dag_folder=sys.argv[1], bundle_path=Path(sys.argv[1]))
dags = {}
for dag_id, dag in bag.dags.items():
    dags[dag_id] = {
        "tags": sorted(dag.tags), "doc": bool(dag.doc_md),
        "assets_in": sorted(a.uri for a in getattr(getattr(dag.timetable, "asset_condition", None), "objects", [])),
        "outlets": sorted(o.uri for t in dag.tasks for o in (t.outlets or []) if hasattr(o, "uri")),
        "tasks": {t.task_id: {"retries": t.retries, "pool": t.pool, "doc": bool(t.doc_md or t.doc),
                              "alerts": len(t.on_failure_callback or []) if isinstance(t.on_failure_callback, list)
                              else int(bool(t.on_failure_callback))}
                  for t in dag.tasks},
    }
heavy = [m for m in ("duckdb", "great_expectations", "feedparser", "matplotlib", "pandas") if m in sys.modules]
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags, "heavy": heavy}))
"""


def _parse(tmp_path: Path, **extra_env: str) -> dict:
    env = {**_airflow_env(tmp_path), **extra_env}
    result = subprocess.run([sys.executable, "-c", _PARSE_PROBE, str(DAGS)], env=env,
                            capture_output=True, text=True, timeout=300, check=True)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["tmp_path"] = str(tmp_path)
    return data


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _parse(tmp_path_factory.mktemp("dagbag"))


def test_no_import_errors_and_all_dags_present(parsed):
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) >= EXPECTED


def test_every_dag_tagged_documented_and_retried(parsed):
    for dag_id in EXPECTED:
        dag = parsed["dags"][dag_id]
        assert "newswatch" in dag["tags"] and dag["doc"]
        for task_id, task in dag["tasks"].items():
            if (dag_id, task_id) not in NOT_RETRIED:
                assert task["retries"] >= 1, f"{dag_id}.{task_id} has no retries"
            assert task["doc"], f"{dag_id}.{task_id} has no docs"


def test_warehouse_tasks_use_the_single_writer_pool(parsed):
    tasks = parsed["dags"]["newswatch_ingest"]["tasks"]
    assert tasks["process"]["pool"] == "warehouse" and tasks["plan_feeds"]["pool"] == "warehouse"
    assert tasks["plan_batches"]["pool"] == "default_pool"  # reads settings only
    assert tasks["poll_feed"]["pool"] == "feeds"
    assert parsed["dags"]["newswatch_digest"]["tasks"]["build_digest"]["pool"] == "warehouse"
    assert parsed["dags"]["newswatch_digest"]["tasks"]["send_digest"]["pool"] == "warehouse"
    maintenance = parsed["dags"]["newswatch_maintenance"]["tasks"]
    assert maintenance["compact_warehouse"]["pool"] == "warehouse"


def test_failure_alerts_attach_only_when_configured(parsed, tmp_path):
    assert all(t["alerts"] == 0 for d in parsed["dags"].values() for t in d["tasks"].values())
    alerted = _parse(tmp_path, NEWSWATCH_ALERT_TO="oncall@example.org")
    assert alerted["errors"] == {}
    assert all(t["alerts"] == 1 for d in alerted["dags"].values() for t in d["tasks"].values())


def test_parsing_touches_no_warehouse_and_imports_nothing_heavy(parsed):
    assert parsed["heavy"] == []
    assert not (Path(parsed["tmp_path"]) / "never").exists()
    assert not (Path(parsed["tmp_path"]) / "airflow" / "airflow.db").exists()  # metadata DB untouched


def test_the_articles_asset_has_a_consumer(parsed):
    assert parsed["dags"]["newswatch_ingest"]["outlets"] == ["newswatch/articles"]
    assert parsed["dags"]["newswatch_today"]["assets_in"] == ["newswatch/articles"]
    assert parsed["dags"]["newswatch_today"]["tasks"]["refresh_todays_digest"]["pool"] == "warehouse"
