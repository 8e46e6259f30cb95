"""Cron schedules as Kubernetes reads them: robfig/cron v3's ParseStandard, and its Next.

The standard five fields (minute, hour, day of month, month, day of week) with `*`, `?`, lists,
ranges, steps and names (jan-dec, sun-sat), or a descriptor: @yearly (@annually), @monthly,
@weekly, @daily (@midnight), @hourly, `@every <duration>`. A day matches when its day of month
and day of week both match, or either does when neither field is `*` (robfig's dayMatches). The
errors are robfig's words, which the API server puts in a CronJob's 422
(pkg/apis/batch/validation validateScheduleFormat). Times are naive datetimes in the schedule's
time zone; the caller converts.

    schedule = parse("*/5 * * * *")
    schedule.next(datetime(2026, 1, 1, 12, 3))   # 2026-01-01 12:05
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MONTHS = {name: i + 1 for i, name in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                                 "oct", "nov", "dec"))}
DAYS = {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
BOUNDS = ((0, 59, None), (0, 23, None), (1, 31, None), (1, 12, MONTHS), (0, 6, DAYS))
DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
               "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)")
UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


class CronError(ValueError):
    """A schedule robfig/cron refuses; its message is robfig's."""


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    any_day: bool = True  # the day of month is `*` (or `?`)
    any_weekday: bool = True
    every: float = 0.0  # @every: seconds between runs (the fields are then unused)

    def day_matches(self, t: datetime) -> bool:
        dom, dow = t.day in self.days, (t.isoweekday() % 7) in self.weekdays
        return dom and dow if self.any_day or self.any_weekday else dom or dow

    def next(self, after: datetime) -> datetime | None:
        """The first time after `after` the schedule fires (None within five years: never)."""
        if self.every:
            step = max(round(self.every), 1)
            return after.replace(microsecond=0) + timedelta(seconds=step)
        t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t.year + 5
        while t.year <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self.day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        return None


def parse(spec: str) -> Schedule:
    """robfig/cron's ParseStandard (a TZ= or CRON_TZ= prefix is the caller's to refuse)."""
    spec = spec.strip()
    if not spec:
        raise CronError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        spec = spec.split(None, 1)[1] if " " in spec else ""
    if spec.startswith("@"):
        if spec.startswith("@every "):
            return Schedule(every=_duration(spec[len("@every "):].strip()))
        if spec not in DESCRIPTORS:
            raise CronError(f"unrecognized descriptor: {spec}")
        spec = DESCRIPTORS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    sets, stars = [], []
    for text, (low, high, names) in zip(fields, BOUNDS):
        values, star = _field(text, low, high, names)
        sets.append(frozenset(values))
        stars.append(star)
    return Schedule(*sets, any_day=stars[2], any_weekday=stars[4])


def _field(text: str, low: int, high: int, names: dict | None) -> tuple[set[int], bool]:
    values, star = set(), False
    for expr in text.split(","):
        more, is_star = _range(expr, low, high, names)
        values |= more
        star = star or is_star
    return values, star


def _range(expr: str, low: int, high: int, names: dict | None) -> tuple[set[int], bool]:
    """getRange: `*`, `?`, N, N-M, each with an optional /step."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    star = False
    if low_and_high[0] in ("*", "?"):
        start, end, star = low, high, True
    else:
        start = _int_or_name(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _int(range_and_step[1])
        if single:  # "N/step" means "N-max/step"
            end = high
        if step > 1:
            star = False
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < low:
        raise CronError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise CronError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step)), star


def _int_or_name(text: str, names: dict | None) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    return _int(text)


def _int(text: str) -> int:
    """mustParseInt: Go's strconv.Atoi, then not negative."""
    if not re.fullmatch(r"[+-]?\d+", text):
        raise CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    number = int(text)
    if number < 0:
        raise CronError(f"negative number ({number}) not allowed: {text}")
    return number


def _duration(text: str) -> float:
    """time.ParseDuration for @every (e.g. 1h30m, 90s)."""
    if not text or DURATION.sub("", text):
        raise CronError(f"failed to parse duration @every {text}: time: invalid duration \"{text}\"")
    return sum(float(n) * UNIT[u] for n, u in DURATION.findall(text))
