"""The digest's timetable (plugins/newswatch_timetables.py): a run's data interval is the UTC day it reports on,
and it survives Airflow's own serialisation (which accepts a custom timetable only from a registered plugin)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from tests.test_dags import DAGS, _airflow_env

pytestmark = pytest.mark.airflow

_PROBE = """
import json, sys
from pathlib import Path
from datetime import timedelta
from pendulum import UTC, DateTime
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.serialization.serialized_objects import DagSerialization
from airflow.timetables.base import DataInterval, TimeRestriction

bag = BundleDagBag(dag_folder=sys.argv[1], bundle_path=Path(sys.argv[1]))
dag = DagSerialization.from_dict(DagSerialization.to_dict(bag.dags["newswatch_digest"]))  # what the scheduler sees
table = dag.timetable
iso = lambda t: None if t is None else DateTime.instance(t).in_timezone(UTC).isoformat()
def info(last, earliest, catchup, latest=None):
    got = table.next_dagrun_info(last_automated_data_interval=last,
                                 restriction=TimeRestriction(earliest=earliest, latest=latest, catchup=catchup))
    return None if got is None else [iso(got.run_after), iso(got.data_interval.start), iso(got.data_interval.end)]
day = lambda *a: DateTime(*a, tzinfo=UTC)
out = {
    "type": type(table).__name__, "summary": table.summary, "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "after_previous": info(DataInterval(day(2026, 3, 28), day(2026, 3, 29)), day(2026, 1, 1), True),
    "first_midnight": info(None, day(2026, 3, 1), True),
    "first_midday": info(None, day(2026, 3, 1, 12), True),
    "no_catchup": info(None, day(2020, 1, 1), False),
    "past_end": info(DataInterval(day(2026, 3, 28), day(2026, 3, 29)), day(2026, 1, 1), True, day(2026, 3, 28, 12)),
    "no_start": info(None, None, True),
    "manual": [iso(t) for t in table.infer_manual_data_interval(run_after=day(2026, 3, 29, 17, 30))],
    "now": iso(DateTime.now(UTC)),
}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    env = _airflow_env(tmp_path_factory.mktemp("timetable"))
    result = subprocess.run([sys.executable, "-c", _PROBE, str(DAGS)], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_digest_dag_uses_the_day_timetable_after_serialisation(probed):
    assert probed["errors"] == {}
    assert probed["type"] == "DigestDayTimetable"
    assert probed["summary"] == "daily 06:00 UTC, for the day before"


def test_each_run_covers_one_whole_utc_day_and_starts_the_next_morning(probed):
    assert probed["after_previous"] == ["2026-03-30T06:00:00+00:00", "2026-03-29T00:00:00+00:00",
                                        "2026-03-30T00:00:00+00:00"]
    assert probed["first_midnight"] == ["2026-03-02T06:00:00+00:00", "2026-03-01T00:00:00+00:00",
                                        "2026-03-02T00:00:00+00:00"]
    # a start date within a day: that day is incomplete, its first digest is for the next whole day
    assert probed["first_midday"][1] == "2026-03-02T00:00:00+00:00"
    assert probed["past_end"] is None and probed["no_start"] is None


def test_without_catchup_only_the_latest_due_day_is_scheduled(probed):
    run_after, start, end = (datetime.fromisoformat(t) for t in probed["no_catchup"])
    now = datetime.fromisoformat(probed["now"])
    assert end - start == timedelta(days=1) and start.hour == 0 and start.minute == 0
    assert run_after - end == timedelta(hours=6)
    # the backlog since 2020 is skipped: the run is the last one already due, or the next one
    assert now - (run_after - end) - 2 * (end - start) <= start <= now


def test_a_triggered_run_reports_on_the_day_of_its_date(probed):
    assert probed["manual"] == ["2026-03-29T00:00:00+00:00", "2026-03-30T00:00:00+00:00"]
