"""Standard cron schedules (5 fields, ranges, steps, lists, names, `@hourly` …) as the CronJob controller reads them.

Pure: `parse_schedule` validates (with robfig/cron's error wording, which kube-apiserver returns) and
`next_after` gives the next scheduled minute after a time, in UTC unless `CRON_TZ=`/`TZ=` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NAMES = {
    3: {m: i + 1 for i, m in enumerate(_MONTHS)},
    4: {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
}
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


class CronError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool
    zone: str = "UTC"


def _value(text: str, field: int) -> int:
    lowered = text.lower()
    if lowered in _NAMES.get(field, {}):
        return _NAMES[field][lowered]
    if not text.isdigit():
        raise CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    value = int(text)
    if field == 4 and value == 7:
        return 0
    return value


def _field(text: str, field: int) -> frozenset[int]:
    low, high = _BOUNDS[field]
    values: set[int] = set()
    for part in text.split(","):
        range_text, _, step_text = part.partition("/")
        step = _value(step_text, -1) if step_text else 1
        if step <= 0:
            raise CronError(f"step of range should be a positive number: {part}")
        if range_text in ("*", "?"):
            start, end = low, high
        elif "-" in range_text:
            first, _, last = range_text.partition("-")
            start, end = _value(first, field), _value(last, field)
        else:
            start = end = _value(range_text, field)
            if step_text:
                end = high
        if start < low or end > high or (field != 4 and start > end):
            raise CronError(
                f"end of range ({end}) above maximum ({high}): {part}"
                if end > high
                else f"beginning of range ({start}) below minimum ({low}): {part}"
            )
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_schedule(text: str) -> Schedule:
    zone = "UTC"
    spec = text.strip()
    if spec.startswith(("CRON_TZ=", "TZ=")):
        prefix, _, spec = spec.partition(" ")
        zone = prefix.split("=", 1)[1]
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CronError(f"provided bad location {zone}: unknown time zone {zone}") from None
    spec = _MACROS.get(spec.strip(), spec.strip())
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    parsed = [_field(value, index) for index, value in enumerate(fields)]
    minutes, hours, days, months, weekdays = parsed
    any_day, any_weekday = fields[2] in ("*", "?"), fields[4] in ("*", "?")
    return Schedule(minutes, hours, days, months, weekdays, any_day=any_day, any_weekday=any_weekday, zone=zone)


def _day_matches(schedule: Schedule, moment: datetime) -> bool:
    day = moment.day in schedule.days
    weekday = (moment.isoweekday() % 7) in schedule.weekdays
    if schedule.any_day or schedule.any_weekday:
        return day and weekday
    return day or weekday  # cron: either restriction matches when both are given


def next_after(schedule: Schedule, after_seconds: float) -> float:
    """The first scheduled minute strictly after `after_seconds` (searching up to ~4 years)."""
    zone = ZoneInfo(schedule.zone)
    moment = datetime.fromtimestamp(after_seconds, UTC).astimezone(zone).replace(second=0, microsecond=0)
    moment += timedelta(minutes=1)
    for _ in range(4 * 366 * 24 * 60):
        if moment.month not in schedule.months or not _day_matches(schedule, moment):
            moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
            continue
        if moment.hour not in schedule.hours:
            moment = (moment + timedelta(hours=1)).replace(minute=0)
            continue
        if moment.minute in schedule.minutes:
            return moment.timestamp()
        moment += timedelta(minutes=1)
    raise CronError("the schedule never fires")
