"""Seeded synthetic CX data with planted effects: ``generate(path, customers=, seed=, end=)``.

``generate`` replaces an earlier sample store at `path` (it refuses a store holding loaded data, or
a file that is not a store), creates a fresh store (``cxlib.store.connect``), fills every
canonical table (customers, touchpoint_stages, events, survey_responses, orders, tickets,
subscriptions), writes one load_log row per table (source ``'sample seed=S customers=N'``) and the
table ``sample_truth``, rebuilds events_ordered, all in one transaction, and returns the row count
per table. Same (customers, seed, end) -> the same rows in every table (only load_log's
started_at/finished_at record the wall clock of the build). Everything is vectorised numpy,
simulated in blocks of ``CHUNK`` customers, so any size fits in memory.

The model itself (vocabulary, planted parameters, comment phrases, the simulation of one block)
lives in ``cxlib.store.simulate``; this module checks the arguments, writes the tables and
re-exports the model's public names (``TOUCHPOINT_STAGES``, ``PLANTED``, ``peak_end_before``, ...).

Time: two years (``SPAN_DAYS``) ending with the day `end` (UTC; data run to its last second),
never the wall clock. Sign-ups grow over the window (14 days after its start to 21 days before
its end); a few awareness events fall up to 14 days before a sign-up.

The story, per customer
-----------------------
- customers: ``C`` + 7 digits (``C0000123``; ids are text), signup_at, region (north 36%, south
  27%, east 22%, west 15%), plan (basic/plus/premium), acquisition_channel (search, social,
  referral, partner, store), age_band (18-24 ... 65+). A hidden persona (``PERSONAS``) shapes
  behaviour: mainstream 78%, power_app 12%, support_heavy 10%.
- events (touchpoints and stages: ``TOUCHPOINT_STAGES``, shipped as data/touchpoint_stages.csv;
  channels web, app, email, phone, chat, store): awareness touches before sign-up (ad_click,
  social_post, email_open by acquisition channel; store sign-ups start with a store_visit), a
  home_page at sign-up; shopping visits (Poisson) that run the funnel product_page ->
  add_to_cart (45%) -> checkout (70%) -> payment (85% on web, 62% on the app), sometimes with a
  marketing touch, home_page (sometimes at the same second, and app_login with it on the app),
  compare/reviews; 12% of carts and 8% of checkouts happen 1-6 days later; 20% of payments share
  the checkout's second. Deliveries 1-4 days after an order (8% late: 6-12 days), review_written,
  email_open, newsletter, app_login, referral, self-service help_center, store_visit, and the
  contacts of service tickets. Nothing happens after a customer churns.
  session_id: ``S`` + 10 digits for a shopping visit (all its funnel steps) or a self-service
  help_center visit; the ticket_id for every contact event of a ticket; NULL otherwise.
- orders: every order is a payment event (same customer, second and channel). Purchases follow a
  BG/NBD-like process: rate lambda ~ gamma(shape ``PURCHASE_RATE_SHAPE`` = 1.5, mean 3/7/2 per
  year for mainstream/power_app/support_heavy), visits arrive at lambda / P(visit converts); after
  each order the customer stops buying for good with probability p ~ beta (``DROPOUT_BETA``:
  mean 0.12, power_app 0.08). Purchase dormancy ends shopping visits only; churn ends everything,
  so a fitted BG/NBD sees slightly more dropout than planted. Amount ~ gamma(shape 6) around a
  customer mean ~ gamma(shape 4) with mean 45/70/110 by plan.
- subscriptions: 90% of customers hold exactly one (their plan; started_at = signup_at or up to
  3 days later); ended_at = the churn time, NULL while active. The other 10% are
  non-contractual: at churn they simply go silent (sample_truth.churn_at).
- tickets: Poisson (1.0/0.6/4.0 a year by persona); channel chat/phone/email/web/store
  (support_heavy: half by phone); category billing/delivery/technical/account/returns;
  agent_id ``A`` + 4 digits (agents differ in speed); resolution lognormal (median 28 h,
  sigma 1.1; x1.5 after a hand-off, x1.3 technical, x0.6 for support_heavy), extended by a repeat
  contact after resolution (then reopened = true); contacts = contact events of the ticket
  (>= 1); resolved_at NULL when not resolved by the end (a few). The first contact is the event at
  opened_at: chat->chat, phone->phone_call, email->email_support, web->help_center,
  store->store_visit.
- survey_responses (``R`` + 9 digits): relationship NPS (touchpoint NULL) 14-200 days after
  sign-up for 95% and again 120-360 days later for 55% of those (answered if before churn and
  end: ~70% of customers answer once or twice); transactional CSAT (1-5) after a resolved ticket
  (50%; touchpoint = the ticket's first-contact touchpoint, channel = the ticket's channel,
  1-24 h after resolved_at), at checkout (25%), payment (20%), delivery (30%, late ones low) and
  help_center visits (20%); CES (1-7) after resolved tickets (35%, 1-30 h after resolved_at) and
  help_center visits (10%). **CES convention: 1-7 agreement with "the company made it easy to
  handle my issue", so HIGHER = EASIER (better).** About 40% of answers carry a comment built
  from per-theme phrases (``THEMES``, ``TEMPLATES``: billing, delivery, wait time, staff
  friendliness, app usability, price, product quality) whose sentiment follows the score
  (NPS 0-6 / CSAT 1-2 / CES 1-3 negative; NPS 7-8 / CSAT 3 / CES 4 neutral); some phrases hold
  non-ASCII text (é, ü, ë, emoji).

Planted effects (sizes as planted; "measured" = recovered from the tables by
tests/unit/test_sample.py at 3,000 customers, seed 42)
------------------------------------------------------------------------------------------
1. Long resolution (> ``LONG_HOURS`` = 72 h, open or resolved): the ticket's CSAT latent mean
   drops by 1.6 (4.45 -> 2.85; measured 4.33 vs 2.89, -1.43 points) and, from the moment the
   ticket has been open 72 h, the customer's churn hazard doubles (x2.0; measured rate ratio
   1.86 adjusted for NPS state, 2.29 crude).
2. Peak-end: the relationship NPS latent rises by 1.6 points per point of (peak+end)/2 - 4 of the
   customer's CSAT ratings (metric 'csat' with a touchpoint) given strictly before the NPS answer;
   the plain mean does not enter. peak = the rating farthest from 3, a low one winning a tie
   (1 beats 5, 2 beats 4); end = the latest. Measured over customers with >= 2 ratings before
   their latest NPS: corr((peak+end)/2, NPS) 0.60 vs corr(mean, NPS) 0.53 (about 0.12 apart at
   large sizes); last rating <= 2: mean NPS 4.0 vs a <= 2 rating earlier but a last >= 4: 7.2.
3. Channel hand-off: 30% of chat tickets are handed off to phone: a phone_call event (channel
   phone, session_id = the ticket_id) 20 min-20 h after the chat at opened_at. A hand-off causes
   a repeat contact (a further contact event of that ticket, 26 h-6.8 days after the call, or
   after the first contact for other tickets) with
   p = 0.45 vs 0.02 for other tickets; with the customer's other service events the share of
   tickets followed by any service-stage event within 7 days is 0.47 vs 0.14 measured. Hand-off
   tickets have more contacts (measured 2.43 vs 1.02) and a CES latent 1.8 lower (measured ticket
   CES 3.70 vs 5.55; over all CES answers of the customers 4.74 vs 5.43).
4. Churn hazard by the latest NPS answer: promoter x1.0, passive x1.5, detractor x2.5 (before any
   answer x1.5), on a base of 0.20 a year (``CHURN_BASE_PER_YEAR``); with x2 after a long
   resolution (effect 1). About 24% of customers churn. Measured detractor/promoter rate ratio
   2.31 adjusted for the long-resolution state (3.03 crude).
5. Top NPS driver: a ticket taking > 72 h before the answer lowers the NPS latent by 3.8 points
   (measured gap 4.3 points); the other NPS inputs are smaller: peak-end (2.), persona
   (power_app +0.9, support_heavy -0.4), referral acquisition +0.25, plus a customer effect
   (sd 0.8) and noise (sd 0.9). Measured: 'any ticket resolved after > 72 h' explains 37% of the
   explained variance in a relative-weights driver model (next: chat rating 12%); it is also the
   largest univariate correlation (|r| 0.40).
6. Theme: NPS comments choose their theme by sentiment; billing (keywords ``BILLING_KEYWORDS``:
   bill, billing, charged, invoice, refund, ...) is 32% of detractor themes vs 4% of promoter
   themes. Measured share of NPS comments mentioning billing: detractors 31% vs promoters 6%
   (5.0x). No other theme's phrases contain a billing keyword.
7. Personas (sample_truth.persona): power_app (12%) with app affinity ~0.86, ~1 app_login a week,
   7 purchases a year, +0.9 NPS; support_heavy (10%) with 4 tickets a year, half by phone, -0.4
   NPS (and more long resolutions); the rest mainstream.
8. App checkout friction: checkout CSAT latent 0.8 lower on the app (measured 3.45 vs 4.26 on
   web) and payment after checkout 62% on the app vs 85% on web (measured 0.62 vs 0.85, linked
   by session_id).
9. Untrusted and personal text: each of ``UNTRUSTED_COMMENTS`` (``<script>alert(1)</script>``,
   ``<img src=x onerror=alert(1)>``, a bare ``</script>``, ``[click](javascript:alert(1))``, an
   e-mail address, +44 20 7946 0958, 'my name is Anna Smith') replaces the comment of
   ``UNTRUSTED_COPIES`` = 2 random answers of the first block, at any size (all 14 need at least
   14 survey answers, ~10 customers).

sample_truth (only in sample stores; never in ingested data)
--------------------------------------------------------------
customer_id, persona, churned, churn_at (the subscription's ended_at for subscribers),
long_resolution (a ticket of theirs passed 72 h unresolved before churn/end), long_at (the first
such moment: opened_at + 72 h, when the churn hazard doubled), handoff, handoff_tickets,
app_affinity (share of shopping visits on the app), purchases_per_week (lambda), dropout_p,
purchase_dormant_at (BG/NBD death: the last order before dormancy, if before churn and end),
spend_mean. ``PLANTED`` holds the planted parameters for tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from cxlib.errors import CxInputError
from cxlib.store import schema
from cxlib.store.simulate import (  # noqa: F401 - the model's public names are re-exported from here
    ACQ_P,
    ACQUISITION,
    AGE_BANDS,
    AGE_P,
    APP_AFFINITY_BETA,
    BILLING_KEYWORDS,
    CHANNELS,
    CHECKOUT_CSAT,
    CHURN_BASE_PER_YEAR,
    CHURN_LONG_MULT,
    CHURN_NPS_MULT,
    COMMENT_P,
    DAY,
    DROPOUT_BETA,
    FUNNEL_CART,
    FUNNEL_CHECKOUT,
    FUNNEL_PAY_APP,
    FUNNEL_PAY_WEB,
    HANDOFF_P,
    HOUR,
    LONG_HOURS,
    METRICS,
    NPS_BASE,
    NPS_CUSTOMER_SD,
    NPS_LONG,
    NPS_NOISE_SD,
    NPS_PEAK_END,
    NPS_PERSONA,
    NPS_REFERRAL,
    PERSONA_P,
    PERSONAS,
    PLAN_P,
    PLANS,
    PLANTED,
    PURCHASE_RATE_SHAPE,
    PURCHASES_PER_YEAR,
    REGION_P,
    REGIONS,
    REPEAT_P,
    RESOLUTION_MEDIAN_H,
    RESOLUTION_SIGMA,
    RESOLUTION_SUPPORT_HEAVY,
    RESPONSE_P,
    SPEND_MEAN,
    TEMPLATES,
    THEMES,
    TICKET_CAT_P,
    TICKET_CATEGORIES,
    TICKET_CES,
    TICKET_CH_P,
    TICKET_CHANNELS,
    TICKET_CSAT,
    TICKETS_PER_YEAR,
    TOUCHPOINT_STAGES,
    TOUCHPOINTS,
    YEAR,
    _comments,
    _phrase_table,
    _simulate,
    peak_end_before,
)

SPAN_DAYS = 730
CHUNK = 100_000  # customers simulated per block (memory stays bounded at any size)

#: Untrusted and personal strings planted in a fixed number of comments (each at least once).
UNTRUSTED_COMMENTS = (
    "Nice app <script>alert(1)</script> but slow",
    "<img src=x onerror=alert(1)> delivery was late",
    "The page broke after payment </script> and showed code",
    "Details of my complaint: [click](javascript:alert(1))",
    "Please contact me at anna.smith@example.com about my order",
    "Call me back on +44 20 7946 0958 please",
    "my name is Anna Smith and nobody helped me",
)
UNTRUSTED_COPIES = 2  # each string is planted this many times (when the store has enough responses)

TRUTH_DDL = """CREATE TABLE sample_truth (
  customer_id VARCHAR PRIMARY KEY,
  persona VARCHAR NOT NULL,
  churned BOOLEAN NOT NULL,
  churn_at TIMESTAMP,
  long_resolution BOOLEAN NOT NULL,
  long_at TIMESTAMP,
  handoff BOOLEAN NOT NULL,
  handoff_tickets INTEGER NOT NULL,
  app_affinity DOUBLE NOT NULL,
  purchases_per_week DOUBLE NOT NULL,
  dropout_p DOUBLE NOT NULL,
  purchase_dormant_at TIMESTAMP,
  spend_mean DOUBLE NOT NULL
)"""


# ----------------------------------------------------------------------------------------------
# The build
# ----------------------------------------------------------------------------------------------


def generate(path, *, customers: int = 5000, seed: int = 42, end="2026-06-30") -> dict[str, int]:
    """Build a fresh sample store at `path`; return its row count per table (and sample_truth).

    customers: how many customers (>= 1); seed: any non-negative integer (same seed, same
    store); end: the last day of data ('YYYY-MM-DD', date or timestamp; UTC). An existing sample
    store at `path` is replaced; a store holding loaded data is never touched (CxInputError); if the build fails, the partial file is removed. See the module
    docstring for the model, the planted effects and sample_truth.
    """
    customers, seed = _checked(customers, seed)
    t1 = _end_ts(end)
    t0 = t1 - SPAN_DAYS * DAY
    path = Path(path)
    _refuse_a_loaded_store(path)
    _remove_store(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    from cxlib.store.connection import connect, refresh_derived

    source = f"sample seed={seed} customers={customers}"
    started_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    counts = dict.fromkeys(["customers", "touchpoint_stages", "events", "survey_responses", "orders", "tickets", "subscriptions"], 0)

    con = connect(path, read_only=False)
    try:
        con.execute("BEGIN TRANSACTION")
        counts["touchpoint_stages"] = _prepare_tables(con)
        _write_blocks(con, customers, seed, t0, t1, counts)
        _log_loads(con, counts, source, started_at)
        refresh_derived(con)
        con.execute("COMMIT")
        counts["sample_truth"] = customers
    except BaseException:
        _abandon(con, path)
        raise
    con.close()
    return counts


def _checked(customers, seed) -> tuple[int, int]:
    """customers and seed as plain ints, or CxInputError."""
    if isinstance(customers, bool) or not isinstance(customers, (int, np.integer)) or customers < 1:
        raise CxInputError(f"customers must be a whole number of at least 1, got {customers!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CxInputError(f"seed must be a non-negative whole number, got {seed!r}")
    return int(customers), int(seed)


def _end_ts(end) -> float:
    """The end of the day `end` (UTC) in seconds since the epoch, or CxInputError."""
    try:
        ts = pd.Timestamp(end)
    except (ValueError, TypeError) as exc:
        raise CxInputError(f"end must be a date such as '2026-06-30', got {end!r}") from exc
    if ts is pd.NaT:
        raise CxInputError(f"end must be a date such as '2026-06-30', got {end!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return float((ts.normalize() + pd.Timedelta(days=1)).value // 10**9)


def is_sample_store(con) -> bool:
    """A sample store holds sample_truth (the planted truth); a user's store never does."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'sample_truth'")
                .fetchone()[0])


def _refuse_a_loaded_store(path: Path) -> None:
    """The sample never replaces a store that holds loaded data (one without sample_truth)."""
    if not path.exists():
        return
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise CxInputError(f"{path} exists and is not a store the sample may replace ({str(exc).splitlines()[0]}); "
                           "choose another path with --db") from None
    try:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        loaded = "customers" in tables and con.execute("SELECT count(*) FROM customers").fetchone()[0] > 0
        if loaded and not is_sample_store(con):
            raise CxInputError(f"{path} holds loaded data, not a sample: the sample never replaces it. "
                               "Build the sample elsewhere (cx sample builds data/sample.duckdb by default).")
    finally:
        con.close()


def _remove_store(path: Path) -> None:
    """Delete the store file at `path` and its write-ahead log, if present."""
    for p in (path, Path(str(path) + ".wal")):
        if p.exists():
            p.unlink()


def _abandon(con, path: Path) -> None:
    """After a failed build: roll back, close, and remove the partial file."""
    try:
        con.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the original error matters more
        pass
    con.close()
    _remove_store(path)


def _prepare_tables(con) -> int:
    """Add the sample's customer columns, create sample_truth, write touchpoint_stages; return its rows."""
    for col in ("region", "plan", "acquisition_channel", "age_band"):
        con.execute(f'ALTER TABLE customers ADD COLUMN IF NOT EXISTS "{col}" VARCHAR')
    con.execute("DROP TABLE IF EXISTS sample_truth")
    con.execute(TRUTH_DDL)
    stages = pa.table({"touchpoint": list(TOUCHPOINT_STAGES), "stage": list(TOUCHPOINT_STAGES.values())})
    con.execute("DELETE FROM touchpoint_stages")  # the store may start with the shipped map: same content
    _insert(con, "touchpoint_stages", stages, "touchpoint, stage")
    return len(TOUCHPOINT_STAGES)


@dataclass
class _Offsets:
    """Rows written by earlier blocks: each block numbers its ids on from these (ids start at 1)."""

    customers: int = 0
    tickets: int = 0
    orders: int = 0
    answers: int = 0
    sessions: int = 0


def _write_blocks(con, customers: int, seed: int, t0: float, t1: float, counts: dict[str, int]) -> None:
    """Simulate and write the customers in blocks of ``CHUNK`` (one generator per block), adding to `counts`."""
    width = max(7, len(str(customers)))
    n_agents = int(np.clip(customers // 60, 15, 5000))
    agent_speed = np.exp(np.random.default_rng([seed, 7]).normal(0.0, 0.25, n_agents))
    phrases, p_off, p_cnt = _phrase_table()
    blocks = np.random.SeedSequence(seed).spawn((customers + CHUNK - 1) // CHUNK)
    off = _Offsets()
    for b, ss in enumerate(blocks):
        rng = np.random.default_rng(ss)
        n = min(CHUNK, customers - b * CHUNK)
        cust, E, S, O, K, truth = _simulate(rng, n, t0, t1, agent_speed)
        cid = np.arange(n, dtype=np.int64) + off.customers + 1
        _write_customers(con, cust, cid, width)
        counts["events"] += _write_events(con, E, off, width, t0)
        S = _in_customer_time_order(S)
        comment = _comments(rng, S, phrases, p_off, p_cnt)
        if b == 0:
            _plant_untrusted(rng, comment)
        counts["survey_responses"] += _write_answers(con, S, comment, off, width)
        counts["orders"] += _write_orders(con, O, off, width)
        counts["tickets"] += _write_tickets(con, K, off, width)
        counts["subscriptions"] += _write_subscriptions(con, cust, truth, cid, width)
        _write_truth(con, truth, cid, width)
        counts["customers"] += n
        off.customers += n
        off.tickets += K["c"].size
        off.orders += O["c"].size
        off.answers += S["c"].size
        off.sessions += int(cust["n_sessions"])


def _in_customer_time_order(S: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Survey answers sorted by customer, then time (the order they are numbered in)."""
    o = np.lexsort((S["ts"], S["c"]))
    return {k: v[o] for k, v in S.items()}


def _plant_untrusted(rng, comment: np.ndarray) -> None:
    """Replace ``UNTRUSTED_COPIES`` random comments by each of ``UNTRUSTED_COMMENTS`` (in place)."""
    if comment.size:
        pick = rng.choice(comment.size, size=min(comment.size, len(UNTRUSTED_COMMENTS) * UNTRUSTED_COPIES), replace=False)
        comment[pick] = np.resize(np.array(UNTRUSTED_COMMENTS, dtype=object), pick.size)


def _log_loads(con, counts: dict[str, int], source: str, started_at: datetime) -> None:
    """One load_log row per table, numbered after the existing ones."""
    finished_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    first_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_log").fetchone()[0]
    for j, (tname, rows) in enumerate(counts.items()):
        con.execute(
            "INSERT INTO load_log (load_id, table_name, source, started_at, finished_at, read, loaded, rejected, "
            "timezone, date_format) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'UTC', NULL)",
            [first_id + j, tname, source, started_at, finished_at, rows, rows],
        )


# ----------------------------------------------------------------------------------------------
# Writing one block's tables
# ----------------------------------------------------------------------------------------------


def _ts_array(x: np.ndarray) -> pa.Array:
    """Seconds since the epoch (NaN = missing) as an Arrow timestamp array."""
    x = np.asarray(x, dtype=float)
    mask = ~np.isfinite(x)
    vals = np.where(mask, 0, x).astype(np.int64)
    return pa.array(vals, type=pa.int64(), mask=mask).cast(pa.timestamp("s"))


def _dict_array(codes: np.ndarray, names) -> pa.Array:
    codes = np.asarray(codes)
    mask = codes < 0
    return pa.DictionaryArray.from_arrays(
        pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask if mask.any() else None), pa.array(list(names))
    )


def _id_sql(col: str, prefix: str, width: int) -> str:
    return f"'{prefix}' || lpad(CAST({col} AS VARCHAR), {width}, '0')"


def _insert(con, table: str, arrow_table: pa.Table, select: str) -> None:
    spec = schema.TABLES.get(table)
    columns = f" ({', '.join(spec.names)})" if spec is not None and spec.properties else ""  # properties stay NULL
    con.register("_sample_src", arrow_table)
    try:
        con.execute(f"INSERT INTO {table}{columns} SELECT {select} FROM _sample_src")
    finally:
        con.unregister("_sample_src")


def _write_customers(con, cust, cid, width: int) -> None:
    _insert(
        con,
        "customers",
        pa.table(
            {
                "c": cid,
                "signup": _ts_array(cust["signup"]),
                "region": _dict_array(cust["region"], REGIONS),
                "plan": _dict_array(cust["plan"], PLANS),
                "acq": _dict_array(cust["acq"], ACQUISITION),
                "age": _dict_array(cust["age"], AGE_BANDS),
            }
        ),
        f"{_id_sql('c', 'C', width)}, signup, region, plan, acq, age",
    )


def _write_events(con, E, off: _Offsets, width: int, t0: float) -> int:
    """Events without exact duplicates of the key, ordered by customer and time; return the rows written."""
    rel = (E["ts"] - (t0 - 64 * DAY)).astype(np.int64)
    key = (((E["c"].astype(np.int64) << 28) | rel) << 10) | (E["tp"].astype(np.int64) << 3) | E["ch"].astype(np.int64)
    o = np.argsort(key, kind="stable")
    key = key[o]
    u = np.r_[True, key[1:] != key[:-1]]
    o = o[u]
    sk = E["sk"][o].astype(np.int64)
    sn = E["sn"][o].astype(np.int64)
    sess = np.where(sk == 2, sn + off.tickets + 1, np.where(sk == 1, sn + off.sessions + 1, 0))
    _insert(
        con,
        "events",
        pa.table(
            {
                "c": E["c"][o].astype(np.int64) + off.customers + 1,
                "ts": _ts_array(E["ts"][o]),
                "tp": _dict_array(E["tp"][o], TOUCHPOINTS),
                "ch": _dict_array(E["ch"][o], CHANNELS),
                "sk": sk.astype(np.int8),
                "sn": sess,
            }
        ),
        f"{_id_sql('c', 'C', width)}, ts, tp, ch, CASE sk WHEN 2 THEN {_id_sql('sn', 'T', 8)} "
        f"WHEN 1 THEN {_id_sql('sn', 'S', 10)} END",
    )
    return int(o.size)


def _write_answers(con, S, comment, off: _Offsets, width: int) -> int:
    """Survey responses (already in customer-time order, numbered in it); return the rows written."""
    nS = S["c"].size
    _insert(
        con,
        "survey_responses",
        pa.table(
            {
                "r": np.arange(nS, dtype=np.int64) + off.answers + 1,
                "c": S["c"].astype(np.int64) + off.customers + 1,
                "ts": _ts_array(S["ts"]),
                "metric": _dict_array(S["metric"], METRICS),
                "score": S["score"].astype(np.int32),
                "tp": _dict_array(S["tp"], TOUCHPOINTS),
                "ch": _dict_array(S["ch"], CHANNELS),
                "comment": pa.array(comment, type=pa.string()),
            }
        ),
        f"{_id_sql('r', 'R', 9)}, {_id_sql('c', 'C', width)}, ts, metric, score, tp, ch, comment",
    )
    return nS


def _write_orders(con, O, off: _Offsets, width: int) -> int:
    """Orders, numbered in customer-time order; return the rows written."""
    o = np.lexsort((O["ts"], O["c"]))
    nO = o.size
    _insert(
        con,
        "orders",
        pa.table(
            {
                "o": np.arange(nO, dtype=np.int64) + off.orders + 1,
                "c": O["c"][o].astype(np.int64) + off.customers + 1,
                "ts": _ts_array(O["ts"][o]),
                "amount": O["amount"][o],
                "ch": _dict_array(O["ch"][o], CHANNELS),
            }
        ),
        f"{_id_sql('o', 'O', 9)}, {_id_sql('c', 'C', width)}, ts, amount, ch",
    )
    return nO


def _write_tickets(con, K, off: _Offsets, width: int) -> int:
    """Tickets; return the rows written."""
    _insert(
        con,
        "tickets",
        pa.table(
            {
                "k": K["sn"].astype(np.int64) + off.tickets + 1,
                "c": K["c"].astype(np.int64) + off.customers + 1,
                "opened": _ts_array(K["opened"]),
                "resolved": _ts_array(K["resolved"]),
                "ch": _dict_array(K["ch"], TICKET_CHANNELS),
                "cat": _dict_array(K["cat"], TICKET_CATEGORIES),
                "agent": K["agent"].astype(np.int64) + 1,
                "contacts": K["contacts"].astype(np.int32),
                "reopened": K["reopened"],
            }
        ),
        f"{_id_sql('k', 'T', 8)}, {_id_sql('c', 'C', width)}, opened, resolved, ch, cat, "
        f"{_id_sql('agent', 'A', 4)}, contacts, reopened",
    )
    return K["c"].size


def _write_subscriptions(con, cust, truth, cid, width: int) -> int:
    """One subscription per subscriber, ended at their churn; return the rows written."""
    i = np.flatnonzero(cust["has_sub"])
    _insert(
        con,
        "subscriptions",
        pa.table(
            {
                "c": cid[i],
                "plan": _dict_array(cust["plan"][i], PLANS),
                "started": _ts_array(cust["started"][i]),
                "ended": _ts_array(truth["churn_at"][i]),
            }
        ),
        f"{_id_sql('c', 'C', width)}, plan, started, ended",
    )
    return int(i.size)


def _write_truth(con, truth, cid, width: int) -> None:
    _insert(
        con,
        "sample_truth",
        pa.table(
            {
                "c": cid,
                "persona": _dict_array(truth["persona"], PERSONAS),
                "churned": truth["churned"],
                "churn_at": _ts_array(truth["churn_at"]),
                "long_resolution": truth["long_resolution"],
                "long_at": _ts_array(truth["long_at"]),
                "handoff": truth["handoff"],
                "handoff_tickets": truth["handoff_tickets"].astype(np.int32),
                "app_affinity": truth["app_affinity"],
                "purchases_per_week": truth["purchases_per_week"],
                "dropout_p": truth["dropout_p"],
                "purchase_dormant_at": _ts_array(truth["purchase_dormant_at"]),
                "spend_mean": truth["spend_mean"],
            }
        ),
        f"{_id_sql('c', 'C', width)}, persona, churned, churn_at, long_resolution, long_at, handoff, "
        "handoff_tickets, app_affinity, purchases_per_week, dropout_p, purchase_dormant_at, spend_mean",
    )
