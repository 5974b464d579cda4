"""benchmarks/speed.py times cxlib against pandas with "the same definitions": check that they are.

On a tiny generated store with a few planted journeys (re-entry, the window edge, ties in time, a
window measured from step 1, a window still open at the as-of date), the pandas funnel,
transitions and cohort retention of the benchmark give exactly cxlib's answers. pm4py is not needed.
"""

import importlib.util
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import cxlib
from cxlib.store import refresh_derived

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def speed():
    spec = importlib.util.spec_from_file_location("speed_bench", ROOT / "benchmarks" / "speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def store(speed, tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "tiny.duckdb"
    speed.build(path, 5_000)  # 100 customers, 50 events each, up to 2025-10
    con = cxlib.connect(path, read_only=False)
    as_of = pd.Timestamp(cxlib.as_of(con))
    t0 = pd.Timestamp("2025-03-01 10:00")
    d, h = timedelta(days=1), timedelta(hours=1)
    planted = {
        # a first attempt times out at step 2; the re-entry reaches checkout exactly at the window
        # edge and payment at the same timestamp (ties count as in order)
        "P1": [("product_page", t0), ("add_to_cart", t0 + 8 * d), ("product_page", t0 + 10 * d),
               ("add_to_cart", t0 + 10 * d + h), ("checkout", t0 + 17 * d), ("payment", t0 + 17 * d)],
        # checkout within 2 days of add_to_cart but 8 days after step 1: the window is from step 1
        "P2": [("product_page", t0), ("add_to_cart", t0 + 6 * d), ("checkout", t0 + 8 * d)],
        # step 1 a day before the as-of date: the window is still open, not a drop
        "P3": [("home_page", as_of - 3 * d), ("product_page", as_of - d)],
        # steps out of order: checkout before product_page does not count
        "P4": [("checkout", t0), ("add_to_cart", t0 + h), ("product_page", t0 + 2 * h), ("payment", t0 + 3 * h)],
        # two attempts reaching step 2: the earliest gives the time to convert
        "P5": [("product_page", t0), ("add_to_cart", t0 + 2 * d), ("product_page", t0 + 20 * d),
               ("add_to_cart", t0 + 20 * d + h)],
        # step 2 at the same time as step 1 (events_ordered puts add_to_cart first): it counts
        "P6": [("product_page", t0), ("add_to_cart", t0)],
    }
    for cid, evs in planted.items():
        con.execute("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, ?, 'planted')",
                    [cid, evs[0][1]])
        con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES (?, ?, ?, 'web')",
                        [[cid, ts, tp] for tp, ts in evs])
    refresh_derived(con)
    con.close()
    con = cxlib.connect(path)
    yield con
    con.close()


@pytest.mark.parametrize("query", ["funnel", "transitions", "cohort_retention"])
def test_pandas_gives_cxlibs_answer(speed, store, query):
    _, expected = speed.cxlib_answer(store, query, min_group_size=1)
    frames, as_of = speed.load_pandas(store, query)
    got = speed.pandas_answer(frames, as_of, query)
    assert speed.compare(query, expected, got, "pandas") == []
    assert len(expected.get("steps", expected)) == len(got.get("steps", got)) > 3


def test_the_planted_journeys_count_as_the_definition_says(speed, store):
    """Both engines on the planted customers alone, against counts worked out by hand."""
    expected = [  # customers, dropped, open_window, median seconds from the previous step
        [6, 0, 0, None],            # P1..P6 start
        [4, 1, 1, (3600 + 2 * 86400) / 2],  # P1 (re-entry), P2, P5, P6; P4 dropped (out of order), P3 open;
                                            # 1 h, 6 d, 2 d, 0 s
        [1, 3, 0, 7 * 86400.0 - 3600],  # P1 at the window edge; P2 (8 days after step 1), P5, P6 dropped
        [1, 0, 0, 0.0],             # P1's payment at the same time as its checkout
    ]
    df = cxlib.funnel(store, speed.FUNNEL, window=speed.WINDOW, by="region", min_group_size=1)
    df = df[df["segment"] == "planted"]
    cx = [[int(r.customers), int(r.dropped), int(r.open_window),
           None if pd.isna(r.median_time_to_convert) else r.median_time_to_convert.total_seconds()]
          for r in df.itertuples()]
    assert cx == expected

    frames, as_of = speed.load_pandas(store, "funnel")
    ev = frames["events"]
    planted = ev[ev["customer_id"].astype(str).str.startswith("P")].copy()
    planted["customer_id"] = planted["customer_id"].astype(str).astype("category")
    assert speed.pandas_funnel(planted, speed.FUNNEL, speed.WINDOW_SECONDS, as_of)["steps"] == expected


def test_a_difference_is_reported(speed, store):
    _, answer = speed.cxlib_answer(store, "transitions", min_group_size=1)
    pair = next(iter(answer))
    changed = {**answer, pair: [answer[pair][0] + 1, *answer[pair][1:]]}
    assert speed.compare("transitions", answer, changed, "pandas") == [
        f"transitions {pair}: cxlib {answer[pair]}, pandas {changed[pair]}"]
    missing = {k: v for k, v in answer.items() if k != pair}
    assert len(speed.compare("transitions", answer, missing, "pandas")) == 1
    pm4py_like = {k: v[0] for k, v in answer.items()}
    assert speed.compare("transitions", answer, pm4py_like, "pm4py", counts_only=True) == []
