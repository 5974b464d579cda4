"""funnel_customers.sql against its previous algorithm: the same cx_funnel_customers on random journeys.

The previous query (one recursive attempt x event join per step) is kept verbatim as
tests/sql/funnel_customers_reference.sql, the oracle. Hypothesis draws small journeys (few customers,
few touchpoints, many ties on time, repeated touchpoints, two channels, events on two days far apart) and
random funnels (single, set and channel-filtered steps, overlapping steps, a window or none, every
order, exclusions, date bounds, breakdowns with every attribution, counts 'customers' | 'totals' |
'trend'); the new query must give the same table, row for row, value for value, type for type.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxlib
from cxlib import sql
from cxlib.analysis.journey.funnels import _funnel_customers
from cxlib.store import refresh_derived

REFERENCE = Path(__file__).with_name("funnel_customers_reference.sql")
T0 = datetime(2024, 1, 1)
TOUCHPOINTS = ["a", "b", "c", "d"]
EXCLUSIONS = ["x", "y"]
CHANNELS = ["web", "app"]
CUSTOMERS = ["u1", "u2", "u3"]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    con = cxlib.connect(tmp_path_factory.mktemp("funnel_algo") / "t.duckdb", read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.executemany("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, ?, ?)",
                    [(c, T0, "north" if i % 2 else "south") for i, c in enumerate(CUSTOMERS)])
    yield con
    con.close()


# an event: (customer, day 0 or 8, hour 0..4, touchpoint, channel); few values, so many ties on time
EVENT = st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from([0, 8]), st.integers(0, 4),
                  st.sampled_from(TOUCHPOINTS + EXCLUSIONS), st.sampled_from(CHANNELS))


def _step(draw, pool):
    kind = draw(st.sampled_from(["one", "set", "channel"]))
    tps = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
    if kind == "one":
        return tps[0]
    if kind == "set":
        return set(tps)
    return {"touchpoint": set(tps) if len(tps) > 1 else tps[0],
            "channel": draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=2, unique=True))}


@st.composite
def funnels(draw):
    """Keyword arguments of _funnel_customers, a valid mix."""
    order = draw(st.sampled_from(["ordered", "ordered", "strict", "any", "closed", "hybrid", "open"]))
    n = draw(st.integers(2, 4))
    if order == "any":  # distinct touchpoints across steps
        pool = draw(st.permutations(TOUCHPOINTS))
        steps = [_step(draw, [pool[i]]) for i in range(min(n, len(pool)))]
    else:
        steps = [_step(draw, TOUCHPOINTS[:draw(st.integers(2, 4))]) for _ in range(n)]
    posthog = order in ("ordered", "strict", "any")
    hours = st.one_of(st.none(), st.integers(0, 6).map(lambda h: T0 + timedelta(hours=h)),
                      st.just(T0 + timedelta(days=8, hours=2)))
    out = {
        "steps": steps, "order": order,
        "window": draw(st.sampled_from([None, timedelta(hours=1), timedelta(hours=2), "90 minutes", "1 day"]))
        if posthog else None,
        "exclusions": draw(st.lists(st.sampled_from(EXCLUSIONS), max_size=2, unique=True)) if posthog else None,
        "start": draw(hours), "end": draw(hours),
        "by": draw(st.sampled_from([None, "region", "channel"] if posthog else [None, "region"])),
        "count": draw(st.sampled_from(["customers", "totals", "trend"])) if posthog else "customers",
    }
    if out["start"] is not None and out["end"] is not None and out["end"] <= out["start"]:
        out["end"] = None
    if out["by"] == "channel":
        out["attribution"] = draw(st.sampled_from(["first_touch", "last_touch", "step", "all_events"]))
        if out["attribution"] == "all_events" and order == "strict":
            out["attribution"] = "first_touch"
        if out["attribution"] == "step":
            out["attribution_step"] = 1 if order == "any" else draw(st.integers(1, len(steps)))
    return out


def _table(con):
    return con.execute("SELECT * FROM cx_funnel_customers ORDER BY ALL").df()


def _both(con, kwargs):
    """cx_funnel_customers from funnel_customers.sql and from the reference query, same parameters."""
    got = {}
    real_run = sql.run

    def spy(c, name, params=None, slots=None):
        out = real_run(c, name, params, slots)
        if name == "funnel_customers":
            got["new"] = _table(c)
            # the reference takes the breakdown slot and its own slots for the counts (the kept attempts
            # for the count asked, an empty set for the others), not the new query's key and step-row slots
            text = REFERENCE.read_text().replace("{segment}", slots["segment"])
            for c_ in ("customers", "totals", "trend"):
                text = text.replace("{kept_" + c_ + "}", "kept" if params["count"] == c_ else "(SELECT * FROM kept LIMIT 0)")
            c.execute(text, {k: v for k, v in params.items() if k != "overlap"})
            got["reference"] = _table(c)
        return out

    with mock.patch.object(sql, "run", spy):
        _funnel_customers(con, **kwargs)
    return got["new"], got["reference"]


def _load(con, events):
    """The journey's events, and u9's: every touchpoint on every channel, days later (so every step and
    channel a funnel names exists)."""
    con.execute("DELETE FROM events")
    filler = [("u9", 20, i, t, ch) for i, t in enumerate(TOUCHPOINTS + EXCLUSIONS) for ch in CHANNELS]
    rows = sorted({(c, T0 + timedelta(days=d, hours=h), t, ch) for c, d, h, t, ch in [*events, *filler]})
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, ?, NULL)",
                    rows)
    refresh_derived(con)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(events=st.lists(EVENT, min_size=1, max_size=25), kwargs=funnels())
def test_funnel_customers_equals_the_previous_algorithm(con, events, kwargs):
    _load(con, events)
    new, reference = _both(con, kwargs)
    pd.testing.assert_frame_equal(new, reference, check_exact=True)


def _fixed(con):
    # u1: a, b at the same time twice over, an exclusion in the middle; u2: a, a, b, c with ties; u3: exclusion
    # events at the very times of step 1 and of the last step (not strictly between: the attempt is kept)
    _load(con, [("u3", 0, 0, "a", "web"), ("u3", 0, 0, "x", "web"), ("u3", 0, 1, "b", "web"),
                ("u3", 0, 2, "c", "web"), ("u3", 0, 2, "x", "app"),
                ("u1", 0, 0, "a", "web"), ("u1", 0, 0, "b", "app"), ("u1", 0, 1, "x", "web"),
                ("u1", 0, 2, "a", "web"), ("u1", 0, 2, "b", "web"), ("u1", 0, 3, "c", "app"),
                ("u2", 0, 0, "a", "web"), ("u2", 0, 0, "a", "app"), ("u2", 0, 1, "b", "web"),
                ("u2", 0, 1, "c", "web"), ("u2", 8, 0, "a", "app"), ("u2", 8, 4, "b", "app")])


@pytest.mark.parametrize("kwargs", [
    {"steps": ["a", "b", "c"], "order": "ordered", "window": timedelta(hours=2)},
    {"steps": ["a", "b", "c"], "order": "ordered", "window": None, "exclusions": ["x"]},
    {"steps": ["a", "b", "a"], "order": "ordered", "window": None},  # one touchpoint in two steps
    {"steps": ["a", "b", "c"], "order": "strict", "window": None, "count": "totals"},
    {"steps": ["a", {"b", "c"}], "order": "any", "window": timedelta(hours=1), "count": "trend"},
    {"steps": ["a", "b"], "order": "ordered", "window": None, "by": "channel", "attribution": "all_events"},
])
def test_fixed_cases_equal_the_previous_algorithm(con, kwargs):
    _fixed(con)
    new, reference = _both(con, {"start": None, "end": None, "by": None, "exclusions": None, **kwargs})
    assert len(new) > 0
    pd.testing.assert_frame_equal(new, reference, check_exact=True)
