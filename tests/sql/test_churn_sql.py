"""Rows in, rows out: the churn SQL files on tiny hand-made tables (one case per business rule)."""

from datetime import datetime

import pandas as pd
import pytest

import cxlib
from cxlib import sql
from cxlib.analysis.churn import status as churn

AS_OF = datetime(2024, 6, 30)


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("""INSERT INTO customers (customer_id, signup_at) VALUES
        ('A', '2024-01-01'), ('B', '2024-01-01'), ('C', '2024-01-01')""")
    con.execute("""INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES
        ('A', 'basic', '2024-01-01', '2024-03-01'),  -- 60 days, churned
        ('B', 'basic', '2024-01-01', NULL),          -- censored at as-of (181 days)
        ('C', 'basic', '2024-01-01', '2024-01-01')   -- churned at its start: no follow-up""")
    con.execute("""INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint) VALUES
        ('r1', 'A', '2024-01-11', 'nps', 3, NULL),
        ('r2', 'A', '2024-01-21', 'nps', 9, NULL),
        ('r3', 'A', '2024-01-21', 'nps', 8, 'checkout'),  -- transactional: no change point
        ('r4', 'B', '2024-07-10', 'nps', 2, NULL)          -- after as-of: ignored""")
    con.execute("""INSERT INTO tickets (ticket_id, customer_id, opened_at, resolved_at, channel, category, agent_id, contacts, reopened) VALUES
        ('t1', 'B', '2024-02-01', '2024-02-06', 'chat', 'billing', 'a', 3, false),   -- long: known 02-04
        ('t2', 'B', '2024-03-01', '2024-03-02', 'phone', 'billing', 'a', 1, false),  -- short
        ('t3', 'A', '2024-02-28', NULL, 'phone', 'billing', 'a', NULL, NULL)          -- open: long mark 03-02 after churn""")
    con.execute("""INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES
        ('B', '2024-02-01 10:00', 'chat', 'chat'), ('B', '2024-02-01 11:00', 'phone_call', 'phone')""")
    cxlib.store.refresh_derived(con)
    yield con
    con.close()


def test_cox_intervals_cut_at_each_change_with_covariates_known_at_the_start(con):
    rows = churn._run(con, "churn_cox_intervals", {"as_of": AS_OF},
                      {"status": churn._status_fragment("contractual")})
    got = rows.assign(start_day=rows.start_day.round(6), stop_day=rows.stop_day.round(6))
    expected = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "B", "B", "B", "B"],
            "start_day": [0.0, 10, 20, 0, 34, 36, 61],
            "stop_day": [10.0, 20, 60, 34, 36, 61, 181],
            "event": [False, False, True, False, False, False, False],
            "nps_group": ["no_answer", "detractor", "promoter", "no_answer", "no_answer", "no_answer", "no_answer"],
            "long_resolution": [False, False, False, False, True, True, True],
            "ticket_contacts": [0, 0, 0, 0, 0, 3, 4],
            "channel_switches": [0, 0, 0, 0, 1, 1, 1],  # the 02-01 switch counts from the 02-04 cut
        }
    )
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)



def test_cox_intervals_take_what_is_known_at_the_cut_itself(con):
    """Two answers at one moment: the later by response_id counts (as arg_max by (ts, id)); an
    answer and a channel switch at a cut's own moment count from that cut on."""
    con.execute("""INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint) VALUES
        ('r6', 'B', '2024-04-01', 'nps', 10, NULL), ('r5', 'B', '2024-04-01', 'nps', 3, NULL)""")
    con.execute("""INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES
        ('B', '2024-04-01 00:00', 'chat', 'chat'), ('B', '2024-03-31 23:00', 'phone_call', 'phone')""")
    cxlib.store.refresh_derived(con)
    rows = churn._run(con, "churn_cox_intervals", {"as_of": AS_OF},
                      {"status": churn._status_fragment("contractual")})
    b = rows[rows.customer_id == "B"].set_index(rows.start_day[rows.customer_id == "B"].round(6))
    assert b.loc[61.0, "nps_group"] == "no_answer" and b.loc[91.0, "nps_group"] == "promoter"
    assert b.loc[61.0, "channel_switches"] == 1 and b.loc[91.0, "channel_switches"] == 2


def test_first_ticket_segment_and_landmark_status(con):
    seg = sql.run(con, "churn_segment_first_ticket", {"as_of": AS_OF}).set_index("customer_id")["segment"]
    assert seg.to_dict() == {"A": "over 72 hours", "B": "over 72 hours"}  # A's open ticket passed 72 h
    seg_early = sql.run(con, "churn_segment_first_ticket", {"as_of": datetime(2024, 2, 2)})
    assert seg_early.set_index("customer_id")["segment"].isna().all()  # B's ticket is 1 day old
    status = churn._run(con, "churn_status_first_ticket", {"as_of": AS_OF},
                        {"status": churn._status_fragment("contractual")}).set_index("customer_id")
    # A churned 03-01, before its first ticket's 72-hour mark (03-02): not followed from there
    assert list(status.index) == ["B"]
    assert status.loc["B", "start"] == datetime(2024, 2, 4)
    assert status.loc["B", "duration_days"] == pytest.approx(181 - 34)


def test_survival_counts_group_whole_days(con):
    counts = churn._run(con, "survival_counts", {"as_of": AS_OF},
                        {"status": churn._status_fragment("contractual"), "segments": churn._fragment("churn_segment_all")})
    assert counts.to_dict("list") == {
        "segment": ["all", "all", "all"], "duration_days": [0, 60, 181],
        "event": [True, True, False], "customers": [1, 1, 1],
    }


def test_a_user_value_never_reaches_the_sql_text(con):
    evil = "region; DROP TABLE customers; --"
    with pytest.raises(cxlib.CxInputError, match="not in customers"):
        churn.churn_rate(con, by=evil, as_of=AS_OF)
    assert con.execute("SELECT count(*) FROM customers").fetchone()[0] == 3
