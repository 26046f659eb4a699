"""parse_packed: times packed by SQLite's group_concat are parsed as a whole only when every one
is in the format qwenlab writes; anything else is refused (None), never misread."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qwenlab.costs.packed_times import SEPARATOR, parse_packed


def written(when: dt.datetime) -> str:
    """A time as qwenlab's utc_now writes it."""
    return when.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


times = st.lists(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9999, 12, 31),
                              timezones=st.just(dt.timezone.utc)), min_size=1, max_size=50)


@given(times)
def test_the_times_qwenlab_writes_are_read_as_pandas_reads_them(whens: list[dt.datetime]) -> None:
    texts = [written(w) for w in whens]
    got = parse_packed(SEPARATOR.join(texts), len(texts), "us")
    want = pd.to_datetime(pd.Series(texts), utc=True, format="ISO8601")
    assert got is not None and got.dtype == np.dtype("datetime64[us]")
    assert list(pd.DatetimeIndex(got).tz_localize("UTC")) == list(want)


GOOD = "2026-03-01T12:00:00.123+00:00"


@pytest.mark.parametrize("text, count", [
    ("", 0),  # nothing
    (GOOD, 2),  # one time missing (group_concat leaves a NULL out)
    (f"{GOOD},{GOOD}", 1),  # one more than counted
    ("2026-03-01T12:00:00.12+00:00,2026-03-01T12:00:00.1234+00:00", 2),  # 28 + 30 characters: the right length
    ("2026-03-01T12:00:00+00:00", 1),  # no milliseconds
    ("2026-03-01T12:00:00.123+01:00", 1),  # another offset
    ("2026-03-01T12:00:00.123Z+0000", 1),  # 29 characters, not UTC as qwenlab writes it
    ("2026-03-01T12:00,00.123+00:00,2026-03-01T12:00:00.123+00:00", 2),  # a comma inside
    ("2026-13-01T12:00:00.123+00:00", 1),  # no 13th month
    ("2026-02-30T12:00:00.123+00:00", 1),  # no 30 February
    ("2026-03-01T12:00:00.123+00:00".replace("T", "é")[:29], 1),  # not ASCII
    ("2026-03-01T12:00:00.1a3+00:00", 1),  # not a time
])
def test_anything_else_is_refused(text: str, count: int) -> None:
    assert parse_packed(text, count, "us") is None
