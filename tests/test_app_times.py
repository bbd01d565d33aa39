"""Human times: record times in the detail view read `2025-11-01 12:26 UTC (3d ago)`, whether
the database holds a datetime, an ISO string or the Unix seconds older versions wrote
(`evodash_marked_at`); a value that is no time is shown as itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tui.app.screens.detail import record_fields
from tui.app.times import as_datetime, human_time
from tui.store.models import ConnectionRecord

NOW = 1_762_000_000.0  # 2025-11-01 12:26:40 UTC


@pytest.mark.parametrize("value, expected", [
    (datetime(2025, 10, 29, 12, 26, tzinfo=UTC), "2025-10-29 12:26 UTC (3d ago)"),
    (datetime(2025, 11, 1, 12, 0), "2025-11-01 12:00 UTC (26m ago)"),  # naive: UTC
    ("2025-11-01T12:26:00+00:00", "2025-11-01 12:26 UTC (40s ago)"),
    ("2025-11-01T09:26:00-03:00", "2025-11-01 12:26 UTC (40s ago)"),
    ("2025-11-01T12:26:00Z", "2025-11-01 12:26 UTC (40s ago)"),
    (1_761_999_000.5, "2025-11-01 12:10 UTC (16m ago)"),
    (1_762_003_600, "2025-11-01 13:26 UTC (in 1h)"),
])
def test_human_time(value, expected):
    assert human_time(value, NOW) == expected


@pytest.mark.parametrize("value", ["r-ana", "2025", "12345", 42, True, None, 1e12, "2025-13-45",
                                   {"$date": 1}])
def test_what_is_no_time_is_not_taken_for_one(value):
    assert as_datetime(value) is None and human_time(value, NOW) is None


def test_detail_fields_show_record_times_as_human_times():
    record = ConnectionRecord(
        doc_id="d1", instance_name="ana_1_1", reseller_id="r-ana",
        created_at=datetime(2025, 10, 24, 8, 0, tzinfo=UTC),
        extra={"evodash_marked_at": 1_761_999_000.5, "evodash_stuck_at": "2025-10-31T10:00:00Z",
               "note_at": "not a time", "plan": "gold"})
    fields = dict(record_fields(record))
    assert fields["created at"].startswith("2025-10-24 08:00 UTC (")
    assert fields["evodash_marked_at"].startswith("2025-11-01 12:10 UTC (")
    assert fields["evodash_stuck_at"].startswith("2025-10-31 10:00 UTC (")
    assert fields["note_at"] == "not a time" and fields["plan"] == "gold"
    assert "1761999000" not in " ".join(fields.values())
