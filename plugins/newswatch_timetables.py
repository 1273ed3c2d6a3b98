"""The digest's timetable: a run's data interval is the UTC day its digest reports on.

A cron timetable would make the 06:00 run cover 06:00 → 06:00, a window the digest never uses; here the run
for day D covers [D 00:00, D+1 00:00) and starts at D+1 06:00, so the Airflow UI, `data_interval_start` and
the archived ``D.html`` all name the same day. Airflow deserialises custom timetables only when a plugin
registers them, hence this file lives in the plugins folder (``AIRFLOW__CORE__PLUGINS_FOLDER``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from pendulum import UTC, DateTime

_DAY = timedelta(days=1)


def _start_of_day(moment: DateTime) -> DateTime:
    return DateTime.instance(moment).in_timezone(UTC).start_of("day")


class DigestDayTimetable(Timetable):
    """One run per UTC day D, data interval [D, D+1), run after D+1 at ``hour``:``minute`` UTC."""

    def __init__(self, hour: int = 6, minute: int = 0) -> None:
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError(f"digest time {hour:02d}:{minute:02d} is not a time of day")
        self.hour = hour
        self.minute = minute
        self._delay = timedelta(hours=hour, minutes=minute)

    @property
    def summary(self) -> str:
        return f"daily {self.hour:02d}:{self.minute:02d} UTC, for the day before"

    @property
    def description(self) -> str:
        return (f"At {self.hour:02d}:{self.minute:02d} UTC each day, the digest of the previous UTC day "
                "(data interval = that day)")

    def serialize(self) -> dict[str, Any]:
        return {"hour": self.hour, "minute": self.minute}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DigestDayTimetable:
        return cls(hour=int(data.get("hour", 6)), minute=int(data.get("minute", 0)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DigestDayTimetable) and self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((self.hour, self.minute))

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        """A triggered run (or ``airflow dags test newswatch_digest DAY``) reports on the day of its date."""
        start = _start_of_day(run_after)
        return DataInterval(start=start, end=start + _DAY)

    def next_dagrun_info(self, *, last_automated_data_interval: DataInterval | None,
                         restriction: TimeRestriction) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            start = _start_of_day(last_automated_data_interval.end)
        elif restriction.earliest is None:
            return None  # no start date: nothing to schedule
        else:
            earliest = DateTime.instance(restriction.earliest)
            start = _start_of_day(earliest)
            if start < earliest:  # a start date within a day: its first whole day is the next one
                start += _DAY
            if not restriction.catchup:  # only the latest day whose digest is already due, not the backlog
                latest_due = _start_of_day(DateTime.now(UTC) - self._delay) - _DAY
                start = max(start, latest_due)
        if restriction.latest is not None and start > restriction.latest:
            return None
        end = start + _DAY
        return DagRunInfo(run_after=end + self._delay, data_interval=DataInterval(start=start, end=end))


class NewswatchTimetablesPlugin(AirflowPlugin):
    name = "newswatch_timetables"
    timetables: ClassVar[list[type[Timetable]]] = [DigestDayTimetable]
