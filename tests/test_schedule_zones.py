"""Schedules in IANA time zones across daylight-saving changes: pure, no database.

Each case names the UTC instant a slot is due, worked out by hand from the zone's rules;
the simulations run the cron's due rule every five minutes across a transition, with a
set standing in for the ledger's unique (report, day), and check that every local day
is sent exactly once, at the first run from its slot on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from components import schedule_form
from db.schedules import Schedule, Slot, due_slot, next_runs, parse_schedule, slot_instant
from errors import BadSchedule

UTC = dt.UTC


def _utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "hour", "due_at"),
    [
        # Berlin, spring: 02:00-03:00 does not exist; 02:00 is sent at 03:00 CEST.
        ("Europe/Berlin", dt.date(2026, 3, 29), 2, _utc(2026, 3, 29, 1)),
        ("Europe/Berlin", dt.date(2026, 3, 29), 3, _utc(2026, 3, 29, 1)),
        ("Europe/Berlin", dt.date(2026, 3, 29), 1, _utc(2026, 3, 29, 0)),
        # Berlin, autumn: 02:00-03:00 happens twice; the first (CEST, +02:00) is the slot.
        ("Europe/Berlin", dt.date(2026, 10, 25), 2, _utc(2026, 10, 25, 0)),
        ("Europe/Berlin", dt.date(2026, 10, 25), 3, _utc(2026, 10, 25, 2)),
        # New York, spring: 02:00 is skipped (sent at 03:00 EDT); autumn: 01:00 twice.
        ("America/New_York", dt.date(2026, 3, 8), 2, _utc(2026, 3, 8, 7)),
        ("America/New_York", dt.date(2026, 3, 8), 3, _utc(2026, 3, 8, 7)),
        ("America/New_York", dt.date(2026, 11, 1), 1, _utc(2026, 11, 1, 5)),
        ("America/New_York", dt.date(2026, 11, 1), 2, _utc(2026, 11, 1, 7)),
        # Lord Howe moves by 30 minutes: 02:00 -> 02:30 (+10:30 -> +11) in October, so 02:00
        # is sent at 02:30; in April 02:00 -> 01:30, and 01:00 and 02:00 each happen once.
        ("Australia/Lord_Howe", dt.date(2026, 10, 4), 2, _utc(2026, 10, 3, 15, 30)),
        ("Australia/Lord_Howe", dt.date(2026, 10, 4), 3, _utc(2026, 10, 3, 16)),
        ("Australia/Lord_Howe", dt.date(2026, 4, 5), 1, _utc(2026, 4, 4, 14)),
        ("Australia/Lord_Howe", dt.date(2026, 4, 5), 2, _utc(2026, 4, 4, 15, 30)),
        ("UTC", dt.date(2026, 3, 29), 2, _utc(2026, 3, 29, 2)),
    ],
)  # fmt: skip
def test_the_slot_instant(zone: str, day: dt.date, hour: int, due_at: dt.datetime) -> None:
    """A skipped hour is sent at the end of the gap, a repeated one at its first occurrence."""
    assert slot_instant(day, hour, zone) == due_at


def _simulate(schedule: Schedule, start: dt.datetime, days: int) -> dict[dt.date, dt.datetime]:
    """The cron's rule every five minutes from `start` for `days` days; the dict is the
    ledger (one row per local day), valued by when the slot was taken."""
    ledger: dict[dt.date, dt.datetime] = {}
    now = start
    while now < start + dt.timedelta(days=days):
        slot = due_slot(schedule, now)
        if slot is not None and slot.day not in ledger:
            ledger[slot.day] = now
        now += dt.timedelta(minutes=5)
    return ledger


TRANSITIONS = [
    ("Europe/Berlin", _utc(2026, 3, 27)),
    ("Europe/Berlin", _utc(2026, 10, 23)),
    ("America/New_York", _utc(2026, 3, 6)),
    ("America/New_York", _utc(2026, 10, 30)),
    ("Australia/Lord_Howe", _utc(2026, 10, 2)),
    ("Australia/Lord_Howe", _utc(2026, 4, 3)),
]


@pytest.mark.parametrize(("zone", "start"), TRANSITIONS)
@pytest.mark.parametrize("hour", range(24))
def test_every_local_day_is_sent_once_across_a_transition(
    zone: str, start: dt.datetime, hour: int
) -> None:
    """Four days around the change: each local day wholly inside the run has one slot,
    taken at the first five-minute run at or after its instant."""
    schedule = Schedule(1, "daily", hour, None, ("a@x.org",), time_zone=zone)
    ledger = _simulate(schedule, start, days=4)
    local = ZoneInfo(zone)
    first, last = (start.astimezone(local).date() + dt.timedelta(days=1),
                   (start + dt.timedelta(days=3)).astimezone(local).date())  # fmt: skip
    day = first
    while day <= last:
        due_at = slot_instant(day, hour, zone)
        assert due_at <= ledger[day] < due_at + dt.timedelta(minutes=5), (day, ledger[day])
        day += dt.timedelta(days=1)


def test_hourly_cron_runs_send_the_skipped_hour_at_the_next_run() -> None:
    """With the cron at :05, Berlin's 02:00 on the spring day (no such time) goes out at
    03:05 CEST (01:05 UTC); on the autumn day at the first 02:05 (CEST, 00:05 UTC)."""
    schedule = Schedule(1, "daily", 2, None, ("a@x.org",), time_zone="Europe/Berlin")
    for day, first_run in ((dt.date(2026, 3, 29), _utc(2026, 3, 29, 1, 5)),
                           (dt.date(2026, 10, 25), _utc(2026, 10, 25, 0, 5))):  # fmt: skip
        runs = [_utc(day.year, day.month, day.day - 1, 12, 5) + dt.timedelta(hours=h)
                for h in range(24)]  # fmt: skip
        due = [now for now in runs if (slot := due_slot(schedule, now)) and slot.day == day]
        assert due[0] == first_run


def test_weekly_weekdays_are_iso_in_the_schedules_zone() -> None:
    """Monday 00:00 in Auckland (+13 in November) is Sunday 11:00 UTC."""
    schedule = Schedule(1, "weekly", 0, 1, ("a@x.org",), time_zone="Pacific/Auckland")
    assert due_slot(schedule, _utc(2026, 11, 22, 10, 55)) is None
    assert due_slot(schedule, _utc(2026, 11, 22, 11, 5)) == Slot(
        dt.date(2026, 11, 23), _utc(2026, 11, 22, 11)
    )
    assert due_slot(schedule, _utc(2026, 11, 23, 11, 5)) is None  # Tuesday there


def test_a_paused_schedule_is_never_due_and_has_no_next_runs() -> None:
    schedule = Schedule(1, "daily", 0, None, ("a@x.org",), paused=True)
    assert due_slot(schedule, _utc(2026, 11, 23, 9)) is None
    assert next_runs(schedule, _utc(2026, 11, 23, 9)) == []


def test_a_slot_missed_at_its_hour_is_still_due_later_that_local_day() -> None:
    schedule = Schedule(1, "daily", 7, None, ("a@x.org",), time_zone="America/New_York")
    assert due_slot(schedule, _utc(2026, 11, 24, 3)) == Slot(  # 22:00 the same local day
        dt.date(2026, 11, 23), _utc(2026, 11, 23, 12)
    )
    assert due_slot(schedule, _utc(2026, 11, 24, 6)) is None  # the 24th, before 07:00 there


def test_next_runs_cross_the_spring_change() -> None:
    """Berlin at 02:00 from Friday noon: Saturday 02:00 CET, Sunday 03:00 CEST (the gap's
    end), Monday 02:00 CEST."""
    schedule = Schedule(1, "daily", 2, None, ("a@x.org",), time_zone="Europe/Berlin")
    assert next_runs(schedule, _utc(2026, 3, 27, 12)) == [
        _utc(2026, 3, 28, 1), _utc(2026, 3, 29, 1), _utc(2026, 3, 30, 0)
    ]  # fmt: skip
    weekly = Schedule(1, "weekly", 9, 3, ("a@x.org",), time_zone="America/New_York")
    assert next_runs(weekly, _utc(2026, 11, 4, 14), n=2) == [  # not the slot at `now` itself
        _utc(2026, 11, 11, 14), _utc(2026, 11, 18, 14)
    ]  # fmt: skip


def test_the_dialog_lists_the_next_runs_in_the_zone_and_in_utc() -> None:
    """The spring change's gap in Berlin, a zone whose morning is the day before in UTC,
    UTC itself, and a paused schedule."""

    def shown(hour: int, zone: str, paused: bool = False) -> Any:
        schedule = Schedule(1, "daily", hour, None, ("a@x.org",), time_zone=zone, paused=paused)
        listed = schedule_form.next_runs_view(schedule, _utc(2026, 3, 27, 12)).children[1]
        return listed.children if paused else [item.children for item in listed.children]

    assert shown(2, "Europe/Berlin") == [
        "Sat 28 Mar 2026, 02:00 CET (01:00 UTC)", "Sun 29 Mar 2026, 03:00 CEST (01:00 UTC)",
        "Mon 30 Mar 2026, 02:00 CEST (00:00 UTC)"]  # fmt: skip
    assert shown(7, "Asia/Tokyo")[0] == "Sat 28 Mar 2026, 07:00 JST (Fri 27 Mar 22:00 UTC)"
    assert shown(7, "UTC")[0] == "Sat 28 Mar 2026, 07:00 UTC"
    assert shown(7, "UTC", paused=True) == "Paused: nothing is sent until it is resumed."


def test_the_cadence_says_the_zone() -> None:
    berlin = Schedule(1, "weekly", 7, 1, ("a@x.org", "b@x.org"), time_zone="Europe/Berlin")
    assert berlin.describe() == "Weekly on Monday at 07:00 Europe/Berlin to 2 recipients"
    assert Schedule(1, "daily", 0, None, ("a@x.org",)).cadence() == "daily at 00:00 UTC"


def test_the_new_fields_are_parsed_with_their_defaults() -> None:
    base = {"frequency": "daily", "hour": 7, "recipients": ["a@x.org"]}
    assert parse_schedule(1, base) == Schedule(1, "daily", 7, None, ("a@x.org",))
    chosen = parse_schedule(1, {**base, "time_zone": "Australia/Lord_Howe", "attachment": "xlsx",
                                "paused": True, "skip_empty": "true"})  # fmt: skip
    assert (chosen.time_zone, chosen.attachment, chosen.paused, chosen.skip_empty) == (
        "Australia/Lord_Howe", "xlsx", True, True
    )  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "paths"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, ["time_zone"]),
        ({"time_zone": "localtime"}, ["time_zone"]),  # the host's zone, not a named one
        ({"time_zone": "../../etc/passwd"}, ["time_zone"]),
        ({"time_zone": 5}, ["time_zone"]),
        ({"attachment": "pdf"}, ["attachment"]),
        ({"paused": "maybe"}, ["paused"]),
        ({"skip_empty": [1]}, ["skip_empty"]),
        ({"time_zone": "Nowhere", "attachment": "zip"}, ["time_zone", "attachment"]),
    ],
)
def test_bad_new_fields_are_named(extra: dict[str, Any], paths: list[str]) -> None:
    with pytest.raises(BadSchedule) as caught:
        parse_schedule(1, {"frequency": "daily", "hour": 7, "recipients": ["a@x.org"], **extra})
    assert [path for path, _ in caught.value.issues] == paths
