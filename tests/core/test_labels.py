"""Labels of axis values: on/off, and distinct values always read differently (core/values.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qwenlab.core.values import distinct_labels, excerpt, format_value, same_value

LUMIERE = "A premium poster, frosted serum bottle on marble, soft orchids, with the headline 'LUMIERE'"
ACCENT = "A premium poster, frosted serum bottle on marble, soft orchids, with the headline 'LUMIÈRE'"


def test_prompts_that_differ_near_the_end_show_where_they_differ() -> None:
    assert format_value(LUMIERE) == format_value(ACCENT)  # cut at 40 characters, they would read the same
    a, b = distinct_labels([LUMIERE, ACCENT])
    assert a != b
    assert a.startswith("…") and "'LUMIERE'" in a and "'LUMIÈRE'" in b  # the common start elided, the difference kept
    assert len(a) <= 40 and len(b) <= 40


def test_edit_prompts_that_start_alike_are_told_apart_by_what_follows() -> None:
    edits = ["Edit the reference image: print the brand 'LUMIERE' on the blank label of the bottle",
             "Edit the reference image: replace the wooden table with polished white marble",
             "Edit the reference image: turn the scene into a moody night shot"]
    labels = distinct_labels(edits, 28, excerpt)
    assert len(set(labels)) == 3
    assert [lab.split(": ", 1)[-1].split()[0] for lab in labels] == ["print", "replace", "turn"]


def test_on_off_none_and_equal_values() -> None:
    assert distinct_labels([True, False, None]) == ["on", "off", "none"]
    assert distinct_labels(["1024x1536", "1536x1024", "1024x1536"]) == ["1024x1536", "1536x1024", "1024x1536"]
    none, text = distinct_labels([None, "none"])
    assert none == "none" and text != none  # a string "none" is not the missing value
    assert distinct_labels([1, "1"])[0] != distinct_labels([1, "1"])[1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=90), st.booleans(), st.none(), st.integers(-3, 3)), min_size=1, max_size=8),
       st.integers(12, 60))
def test_distinct_values_get_distinct_labels_and_equal_values_equal_ones(values: list, limit: int) -> None:
    labels = distinct_labels(values, limit)
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            if same_value(a, b):
                assert labels[i] == labels[j]
            elif " ".join(str(a).split()) != " ".join(str(b).split()) or type(a) is not type(b):
                assert labels[i] != labels[j], (a, b, labels)
