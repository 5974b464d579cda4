"""Seeded synthetic CX data with planted effects: ``generate(path, customers=, seed=, end=)``.

``generate`` deletes any file at `path`, creates a fresh store (``cxlib.store.connect``), fills every
canonical table (customers, touchpoint_stages, events, survey_responses, orders, tickets,
subscriptions), writes one load_log row per table (source ``'sample seed=S customers=N'``) and the
table ``sample_truth``, rebuilds events_ordered, all in one transaction, and returns the row count
per table. Same (customers, seed, end) -> the same rows in every table (only load_log's
started_at/finished_at record the wall clock of the build). Everything is vectorised numpy,
simulated in blocks of ``CHUNK`` customers, so any size fits in memory.

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

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from cxlib.errors import CxInputError

# ----------------------------------------------------------------------------------------------
# Vocabulary
# ----------------------------------------------------------------------------------------------

#: The sample's touchpoints and their stages; data/touchpoint_stages.csv ships the same map.
TOUCHPOINT_STAGES: dict[str, str] = {
    "ad_click": "awareness",
    "social_post": "awareness",
    "email_open": "awareness",
    "home_page": "consideration",
    "product_page": "consideration",
    "compare": "consideration",
    "reviews": "consideration",
    "add_to_cart": "purchase",
    "checkout": "purchase",
    "payment": "purchase",
    "help_center": "service",
    "chat": "service",
    "phone_call": "service",
    "email_support": "service",
    "store_visit": "service",
    "delivery": "service",
    "app_login": "loyalty",
    "review_written": "loyalty",
    "referral": "loyalty",
    "newsletter": "loyalty",
}
TOUCHPOINTS = tuple(TOUCHPOINT_STAGES)
CHANNELS = ("web", "app", "email", "phone", "chat", "store")
PERSONAS = ("mainstream", "power_app", "support_heavy")
REGIONS = ("north", "south", "east", "west")
PLANS = ("basic", "plus", "premium")
ACQUISITION = ("search", "social", "referral", "partner", "store")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
TICKET_CHANNELS = ("chat", "phone", "email", "web", "store")
TICKET_CATEGORIES = ("billing", "delivery", "technical", "account", "returns")
METRICS = ("nps", "csat", "ces")
THEMES = ("billing", "delivery", "wait time", "staff friendliness", "app usability", "price", "product quality")
#: Words that mark the billing theme in comments (no other theme's phrases use them).
BILLING_KEYWORDS = ("bill", "billing", "billed", "charged", "charge", "charges", "invoice", "refund")

_T = {name: i for i, name in enumerate(TOUCHPOINTS)}
_C = {name: i for i, name in enumerate(CHANNELS)}
# ticket channel -> (first-contact touchpoint, event channel)
_TICKET_FIRST = {
    "chat": ("chat", "chat"),
    "phone": ("phone_call", "phone"),
    "email": ("email_support", "email"),
    "web": ("help_center", "web"),
    "store": ("store_visit", "store"),
}

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

# ----------------------------------------------------------------------------------------------
# Model parameters (the planted truth; see the module docstring)
# ----------------------------------------------------------------------------------------------

DAY = 86400.0
HOUR = 3600.0
YEAR = 365.0 * DAY
SPAN_DAYS = 730
CHUNK = 100_000  # customers simulated per block (memory stays bounded at any size)

PERSONA_P = (0.78, 0.12, 0.10)
REGION_P = (0.36, 0.27, 0.22, 0.15)
PLAN_P = np.array([[0.55, 0.30, 0.15], [0.25, 0.40, 0.35], [0.50, 0.32, 0.18]])
ACQ_P = np.array(
    [[0.35, 0.22, 0.15, 0.10, 0.18], [0.30, 0.35, 0.20, 0.10, 0.05], [0.34, 0.18, 0.10, 0.13, 0.25]]
)
AGE_P = np.array(
    [
        [0.12, 0.24, 0.22, 0.18, 0.14, 0.10],
        [0.26, 0.38, 0.22, 0.09, 0.04, 0.01],
        [0.08, 0.18, 0.22, 0.22, 0.17, 0.13],
    ]
)
APP_AFFINITY_BETA = ((2.0, 4.0), (9.0, 1.5), (1.5, 5.0))  # share of shopping sessions on the app
PURCHASES_PER_YEAR = (3.0, 7.0, 2.0)  # mean of the gamma purchase rate, per persona
PURCHASE_RATE_SHAPE = 1.5  # gamma shape r of the purchase rate
DROPOUT_BETA = ((1.2, 9.0), (1.2, 14.0), (1.2, 9.0))  # BG/NBD dropout probability after each order
SPEND_MEAN = (45.0, 70.0, 110.0)  # mean order value per plan; customer mean ~ gamma(4), order ~ gamma(6)
FUNNEL_CART = 0.45  # P(add_to_cart | product_page)
FUNNEL_CHECKOUT = 0.70  # P(checkout | add_to_cart)
FUNNEL_PAY_WEB = 0.85  # P(payment | checkout) on web
FUNNEL_PAY_APP = 0.62  # P(payment | checkout) on the app (friction)
CHECKOUT_CSAT = (4.35, 0.8)  # latent mean on web, drop on the app
TICKETS_PER_YEAR = (1.0, 0.6, 4.0)
TICKET_CH_P = np.array([[0.36, 0.26, 0.20, 0.12, 0.06], [0.40, 0.20, 0.22, 0.15, 0.03], [0.25, 0.50, 0.15, 0.07, 0.03]])
TICKET_CAT_P = (0.22, 0.24, 0.20, 0.14, 0.20)
RESOLUTION_MEDIAN_H = 28.0
RESOLUTION_SIGMA = 1.1
LONG_HOURS = 72.0
RESOLUTION_SUPPORT_HEAVY = 0.6  # support-heavy customers raise many small, quickly solved issues
HANDOFF_P = 0.30  # share of chat tickets handed off to phone
REPEAT_P = (0.02, 0.45)  # P(repeat contact within 7 days | no hand-off, hand-off)
TICKET_CSAT = (4.45, 1.6)  # latent mean, drop when resolution > 72 h
TICKET_CES = (5.6, 1.8, 0.4)  # latent mean, drop after a hand-off, drop after a long resolution
NPS_BASE = 7.8
NPS_PERSONA = (0.0, 0.9, -0.4)
NPS_PEAK_END = 1.6  # NPS points per rating point of (peak+end)/2 (CSAT scale)
NPS_LONG = -3.8  # NPS points after a ticket took > 72 h
NPS_REFERRAL = 0.25
NPS_CUSTOMER_SD = 0.8
NPS_NOISE_SD = 0.9
CHURN_BASE_PER_YEAR = 0.20  # hazard of a promoter with no long ticket
CHURN_NPS_MULT = (1.5, 1.0, 1.5, 2.5)  # before any NPS answer, promoter, passive, detractor
CHURN_LONG_MULT = 2.0  # after a ticket first exceeded 72 h
COMMENT_P = 0.40
# share of interactions that get a survey answer
RESPONSE_P = {
    "ticket_csat": 0.50,
    "ticket_ces": 0.35,
    "checkout": 0.25,
    "payment": 0.20,
    "delivery": 0.30,
    "help_center_csat": 0.20,
    "help_center_ces": 0.10,
}

PLANTED = {
    "long_resolution_hours": LONG_HOURS,
    "ticket_csat_drop_long": TICKET_CSAT[1],
    "churn_hazard_mult_long": CHURN_LONG_MULT,
    "churn_hazard_mult_detractor_vs_promoter": CHURN_NPS_MULT[3] / CHURN_NPS_MULT[1],
    "churn_hazard_mult_passive_vs_promoter": CHURN_NPS_MULT[2] / CHURN_NPS_MULT[1],
    "churn_base_per_year": CHURN_BASE_PER_YEAR,
    "nps_points_long_resolution": NPS_LONG,
    "nps_points_per_peak_end_point": NPS_PEAK_END,
    "handoff_share_of_chat_tickets": HANDOFF_P,
    "repeat_contact_p_handoff": REPEAT_P[1],
    "repeat_contact_p_other": REPEAT_P[0],
    "ces_drop_handoff": TICKET_CES[1],
    "checkout_csat_drop_app": CHECKOUT_CSAT[1],
    "payment_after_checkout_web": FUNNEL_PAY_WEB,
    "payment_after_checkout_app": FUNNEL_PAY_APP,
    "persona_share": dict(zip(PERSONAS, PERSONA_P)),
    "purchase_rate_gamma_shape": PURCHASE_RATE_SHAPE,
    "purchases_per_year_mean": dict(zip(PERSONAS, PURCHASES_PER_YEAR)),
    "dropout_beta": dict(zip(PERSONAS, DROPOUT_BETA)),
}

# ----------------------------------------------------------------------------------------------
# Comment templates: theme -> (negative, neutral, positive) phrases
# ----------------------------------------------------------------------------------------------

TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "billing": (
        (
            "I was charged twice and nobody fixed my bill",
            "The invoice was wrong again",
            "Still waiting for my refund",
            "Billing is a mess, unexpected charges every month",
            "Wrong amount on my invoice, très frustrant 😡",
        ),
        ("Billing was okay but the invoice is hard to read", "The refund took a while but arrived", "The bill was correct this time"),
        ("Billing is clear and simple", "Got my refund quickly, thanks", "Invoice always correct, no surprises 👍"),
    ),
    "delivery": (
        (
            "Delivery was late and the parcel was damaged",
            "My order never arrived on time",
            "Lieferung kam zu spät, überhaupt nicht pünktlich",
            "The courier left the package in the rain",
        ),
        ("Delivery took a bit longer than promised", "Parcel arrived, the packaging could be better"),
        ("Fast delivery, arrived a day early", "Delivery was quick and the courier was friendly", "Livraison rapide, très bien 🚚"),
    ),
    "wait time": (
        (
            "I waited days for an answer",
            "It took forever to resolve my issue",
            "On hold for an hour, unacceptable",
            "Nobody got back to me for a week",
        ),
        ("It took a while but they sorted it out", "Response time could be better"),
        ("Quick response, solved in minutes", "No waiting at all, great"),
    ),
    "staff friendliness": (
        ("The agent was rude and unhelpful", "Staff did not listen to me", "Unfriendly person on the phone"),
        ("The agent was polite but could not help much", "Staff were okay"),
        ("The agent was super friendly and helpful", "Lovely staff, thank you Zoë!", "Very kind and patient support team 😊"),
    ),
    "app usability": (
        ("The app keeps crashing at checkout", "The app is confusing, could not find the button", "Checkout in the app froze twice"),
        ("The app works but feels slow", "The app is fine, a few glitches"),
        ("The app is easy to use", "Love the app, everything in two taps 📱", "Smooth app experience"),
    ),
    "price": (
        ("Too expensive for what you get", "Prices went up again", "Not worth the money"),
        ("Prices are fair I guess", "A bit pricey but okay"),
        ("Great value for money", "Good prices and deals", "Cheaper than the competition"),
    ),
    "product quality": (
        ("The product broke after a week", "Poor quality, very disappointed", "The item looked nothing like the photos"),
        ("The product is okay, nothing special", "Quality is average"),
        ("Excellent product quality", "Really happy with the product, très bonne qualité", "Great quality, will buy again ✨"),
    ),
}

# theme weights per comment context (rows: contexts, columns: THEMES)
_CTX = (
    "nps_neg",
    "nps_neg_long",
    "nps_neu",
    "nps_pos",
    "ticket",
    "ticket_billing",
    "ticket_delivery",
    "ticket_long",
    "checkout_web",
    "checkout_app",
    "payment",
    "delivery",
    "help_center",
    "ces",
)
_CTX_I = {c: i for i, c in enumerate(_CTX)}
_THEME_W = np.array(
    [
        # billing delivery wait staff app price quality
        [0.32, 0.08, 0.10, 0.08, 0.10, 0.17, 0.15],  # nps_neg
        [0.25, 0.05, 0.40, 0.08, 0.05, 0.09, 0.08],  # nps_neg_long
        [0.10, 0.14, 0.10, 0.12, 0.16, 0.20, 0.18],  # nps_neu
        [0.04, 0.16, 0.06, 0.22, 0.20, 0.10, 0.22],  # nps_pos
        [0.00, 0.05, 0.30, 0.45, 0.10, 0.00, 0.10],  # ticket
        [0.70, 0.00, 0.10, 0.20, 0.00, 0.00, 0.00],  # ticket_billing
        [0.00, 0.65, 0.10, 0.20, 0.00, 0.00, 0.05],  # ticket_delivery
        [0.10, 0.05, 0.65, 0.15, 0.00, 0.00, 0.05],  # ticket_long
        [0.00, 0.00, 0.00, 0.00, 0.30, 0.45, 0.25],  # checkout_web
        [0.00, 0.00, 0.00, 0.00, 0.75, 0.15, 0.10],  # checkout_app
        [0.40, 0.00, 0.00, 0.00, 0.25, 0.35, 0.00],  # payment
        [0.00, 0.80, 0.00, 0.00, 0.00, 0.00, 0.20],  # delivery
        [0.00, 0.00, 0.25, 0.20, 0.45, 0.00, 0.10],  # help_center
        [0.00, 0.00, 0.45, 0.35, 0.20, 0.00, 0.00],  # ces
    ]
)
_THEME_W = _THEME_W / _THEME_W.sum(axis=1, keepdims=True)


def _phrase_table():
    """All phrases flattened, with (theme, sentiment) -> (offset, count)."""
    phrases: list[str] = []
    offset = np.zeros((len(THEMES), 3), dtype=np.int64)
    count = np.zeros((len(THEMES), 3), dtype=np.int64)
    for ti, theme in enumerate(THEMES):
        for si in range(3):
            offset[ti, si] = len(phrases)
            count[ti, si] = len(TEMPLATES[theme][si])
            phrases.extend(TEMPLATES[theme][si])
    return np.array(phrases, dtype=object), offset, count


# ----------------------------------------------------------------------------------------------
# Vectorised helpers
# ----------------------------------------------------------------------------------------------


def _choice(rng, n, p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right").clip(0, len(p) - 1)


def _rows_choice(rng, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) probability matrix."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cdf[:, -1]
    return np.minimum((u[:, None] >= cdf).sum(axis=1), probs.shape[1] - 1)


def _daytime(rng, ts: np.ndarray) -> np.ndarray:
    """Move each time to a plausible time of day (busy afternoons, quiet nights), same day."""
    tod = np.where(
        rng.random(ts.size) < 0.12,
        rng.random(ts.size) * DAY,
        np.clip(rng.normal(14.5 * HOUR, 3.8 * HOUR, ts.size), 6.5 * HOUR, 23.9 * HOUR),
    )
    return np.floor(ts / DAY) * DAY + np.floor(tod)


def _poisson_times(rng, rate, lo, hi, *, daytime=True, ordered=False):
    """Poisson process per owner with `rate` per second on [lo, hi): (owner index, times).

    Owners come out grouped in index order; with ordered=True times are sorted within an owner.
    """
    dur = np.maximum(hi - lo, 0.0)
    k = rng.poisson(rate * dur)
    owner = np.repeat(np.arange(rate.size), k)
    ts = lo[owner] + np.floor(rng.random(owner.size) * dur[owner])
    if daytime:
        ts = np.clip(_daytime(rng, ts), lo[owner], np.maximum(hi[owner] - 1, lo[owner]))
    if ordered:
        o = np.lexsort((ts, owner))
        owner, ts = owner[o], ts[o]
    return owner, ts


def _group_starts(g: np.ndarray) -> np.ndarray:
    """For a sorted group array, the index of each row's group start."""
    if g.size == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.r_[True, g[1:] != g[:-1]]
    return np.maximum.accumulate(np.where(start, np.arange(g.size), 0))


def _group_cumsum(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Inclusive running sum of x within each group of sorted g."""
    c = np.cumsum(x)
    s = _group_starts(g)
    return c - (c[s] - x[s])


def _rating_class(score, lo, hi):
    """0 negative, 1 neutral, 2 positive for a score on its scale."""
    if hi == 10:
        return np.where(score <= 6, 0, np.where(score <= 8, 1, 2))
    if hi == 5:
        return np.where(score <= 2, 0, np.where(score == 3, 1, 2))
    return np.where(score <= 3, 0, np.where(score == 4, 1, 2))


def _score(rng, mean, sd, lo, hi):
    return np.clip(np.rint(mean + rng.normal(0.0, sd, np.shape(mean))), lo, hi).astype(np.int16)


_PEAK_PRIORITY = np.array([0, 5, 3, 1, 2, 4])  # CSAT 1..5 -> priority (1 most extreme, then 5, 2, 4, 3)
_PRIORITY_SCORE = np.array([0, 3, 4, 2, 5, 1])


def peak_end_before(r_cust, r_ts, r_score, q_cust, q_ts):
    """Per query (customer, time): count, mean, peak and end of that customer's ratings strictly before.

    Ratings are CSAT scores 1-5. The peak is the rating farthest from the midpoint 3; a tie between
    a low and a high rating goes to the low one (1 beats 5, 2 beats 4). The end is the latest rating
    (ties on time: the one listed last). Returns four arrays aligned with the queries; peak and end
    are 0 and mean NaN where there is no earlier rating.
    """
    nr, nq = r_cust.size, q_cust.size
    cust = np.r_[r_cust, q_cust].astype(np.int64)
    ts = np.r_[r_ts, q_ts]
    kind = np.r_[np.ones(nr, np.int8), np.zeros(nq, np.int8)]  # queries sort before ratings at equal ts
    order = np.lexsort((np.arange(nr + nq), kind, ts, cust))
    cust, kind = cust[order], kind[order]
    is_r = kind == 1
    val = np.r_[r_score, np.zeros(nq, r_score.dtype)][order].astype(np.int64)
    cnt = _group_cumsum(cust, is_r.astype(np.int64))
    tot = _group_cumsum(cust, np.where(is_r, val, 0))
    pri = np.where(is_r, _PEAK_PRIORITY[val], 0)
    peak_pri = np.maximum.accumulate(cust * 8 + pri) - cust * 8
    last = np.maximum.accumulate(np.where(is_r, np.arange(cust.size), -1))
    has = (last >= 0) & (cust[np.maximum(last, 0)] == cust)
    end = np.where(has, val[np.maximum(last, 0)], 0)
    qpos = np.empty(nq, dtype=np.int64)
    qmask = ~is_r
    qpos[order[qmask] - nr] = np.flatnonzero(qmask)
    c = cnt[qpos]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(c > 0, tot[qpos] / np.maximum(c, 1), np.nan)
    return c, mean, _PRIORITY_SCORE[peak_pri[qpos]], end[qpos]


class _Rows:
    """Column lists appended piecewise and concatenated once."""

    def __init__(self, *names):
        self.cols = {n: [] for n in names}

    def add(self, **kw):
        size = max(np.size(v) for v in kw.values())
        for n, parts in self.cols.items():
            v = kw[n]
            parts.append(np.full(size, v) if np.ndim(v) == 0 else np.asarray(v))

    def done(self) -> dict[str, np.ndarray]:
        return {n: np.concatenate(p) if p else np.zeros(0) for n, p in self.cols.items()}


# ----------------------------------------------------------------------------------------------
# Simulation of one block of customers
# ----------------------------------------------------------------------------------------------


def _simulate(rng, n, t0, t1, agent_speed):  # noqa: C901 - one linear story, kept in one place
    inf = np.inf
    persona = _choice(rng, n, PERSONA_P)
    region = _choice(rng, n, REGION_P)
    plan = _rows_choice(rng, PLAN_P[persona])
    acq = _rows_choice(rng, ACQ_P[persona])
    age = _rows_choice(rng, AGE_P[persona])
    u = rng.random(n)
    frac = np.where(rng.random(n) < 0.5, u, np.sqrt(u))  # more recent sign-ups: a growing business
    signup = np.floor(t0 + 14 * DAY + frac * (t1 - 21 * DAY - t0))
    signup = _daytime(rng, signup)
    has_sub = rng.random(n) < 0.9
    started = signup + np.where(rng.random(n) < 0.7, 0.0, np.floor(rng.random(n) * 3 * DAY))
    expo = np.where(has_sub, started, signup)
    ab = np.array(APP_AFFINITY_BETA)[persona]
    aff = rng.beta(ab[:, 0], ab[:, 1])
    lam = rng.gamma(PURCHASE_RATE_SHAPE, np.array(PURCHASES_PER_YEAR)[persona] / PURCHASE_RATE_SHAPE) / YEAR
    db = np.array(DROPOUT_BETA)[persona]
    pdrop = rng.beta(db[:, 0], db[:, 1])
    spend = rng.gamma(4.0, np.array(SPEND_MEAN)[plan] / 4.0)
    t1v = np.full(n, t1)

    ev = _Rows("c", "ts", "tp", "ch", "sk", "sn")  # sk: session kind 0 none, 1 visit, 2 ticket
    sv = _Rows("c", "ts", "metric", "score", "tp", "ch", "ctx")

    # ---- service tickets -------------------------------------------------------------------
    k_c, k_open = _poisson_times(rng, np.array(TICKETS_PER_YEAR)[persona] / YEAR, signup, t1v, ordered=True)
    m = k_c.size
    k_ch = _rows_choice(rng, TICKET_CH_P[persona[k_c]])
    k_cat = _choice(rng, m, TICKET_CAT_P)
    k_agent = rng.integers(0, agent_speed.size, m)
    handoff = (k_ch == 0) & (rng.random(m) < HANDOFF_P)
    ho_ts = np.floor(k_open + rng.uniform(20 * 60, 20 * HOUR, m))
    res_h = (
        np.exp(rng.normal(np.log(RESOLUTION_MEDIAN_H), RESOLUTION_SIGMA, m))
        * agent_speed[k_agent]
        * np.where(handoff, 1.5, 1.0)
        * np.where(k_cat == 2, 1.3, 1.0)
        * np.where(persona[k_c] == 2, RESOLUTION_SUPPORT_HEAVY, 1.0)
    )
    base_res = np.floor(k_open + 600 + res_h * HOUR)
    base_res = np.where(handoff, np.maximum(base_res, ho_ts + 600), base_res)
    ep_end = np.where(handoff, ho_ts, k_open)
    repeat = rng.random(m) < np.where(handoff, REPEAT_P[1], REPEAT_P[0])
    rp_ts = np.floor(ep_end + rng.uniform(26 * HOUR, 6.8 * DAY, m))  # > 1 day: never mistaken for a hand-off
    rp_tp = np.array([_T["phone_call"], _T["chat"], _T["email_support"], _T["help_center"]])[
        _choice(rng, m, (0.4, 0.3, 0.2, 0.1))
    ]
    rp_ch = np.full(m, -1)
    for tp, ch in (("phone_call", "phone"), ("chat", "chat"), ("email_support", "email"), ("help_center", "web")):
        rp_ch[rp_tp == _T[tp]] = _C[ch]
    reopened = repeat & (rp_ts > base_res)
    resolved = np.where(
        reopened,
        np.floor(rp_ts + np.exp(rng.normal(np.log(5.0), 0.8, m)) * HOUR),
        np.where(repeat, np.maximum(base_res, rp_ts + 600), base_res),
    )
    long_ = (resolved - k_open) > LONG_HOURS * HOUR
    t_long = np.where(long_, k_open + LONG_HOURS * HOUR, inf)
    t_long = np.where(t_long < t1, t_long, inf)
    first_tp = np.array([_T[_TICKET_FIRST[c][0]] for c in TICKET_CHANNELS])[k_ch]
    first_ch = np.array([_C[_TICKET_FIRST[c][1]] for c in TICKET_CHANNELS])[k_ch]
    kidx = np.arange(m)
    ev.add(c=k_c, ts=k_open, tp=first_tp, ch=first_ch, sk=2, sn=kidx)
    h = np.flatnonzero(handoff)
    ev.add(c=k_c[h], ts=ho_ts[h], tp=_T["phone_call"], ch=_C["phone"], sk=2, sn=h)
    r = np.flatnonzero(repeat)
    ev.add(c=k_c[r], ts=rp_ts[r], tp=rp_tp[r], ch=rp_ch[r], sk=2, sn=r)
    done = resolved < t1
    s = np.flatnonzero(done & (rng.random(m) < RESPONSE_P["ticket_csat"]))
    ctx = np.where(long_, _CTX_I["ticket_long"], np.where(k_cat == 0, _CTX_I["ticket_billing"], _CTX_I["ticket"]))
    ctx = np.where(~long_ & ((k_cat == 1) | (k_cat == 4)), _CTX_I["ticket_delivery"], ctx)
    sv.add(
        c=k_c[s],
        ts=np.floor(resolved[s] + rng.uniform(HOUR, 24 * HOUR, s.size)),
        metric=1,
        score=_score(rng, TICKET_CSAT[0] - TICKET_CSAT[1] * long_[s], 0.85, 1, 5),
        tp=first_tp[s],
        ch=first_ch[s],
        ctx=ctx[s],
    )
    s = np.flatnonzero(done & (rng.random(m) < RESPONSE_P["ticket_ces"]))
    sv.add(
        c=k_c[s],
        ts=np.floor(resolved[s] + rng.uniform(HOUR, 30 * HOUR, s.size)),
        metric=2,
        score=_score(rng, TICKET_CES[0] - TICKET_CES[1] * handoff[s] - TICKET_CES[2] * long_[s], 1.0, 1, 7),
        tp=first_tp[s],
        ch=first_ch[s],
        ctx=_CTX_I["ces"],
    )

    # ---- shopping visits: the purchase funnel and BG/NBD orders ------------------------------
    q = FUNNEL_CART * FUNNEL_CHECKOUT * (aff * FUNNEL_PAY_APP + (1 - aff) * FUNNEL_PAY_WEB)
    a_c, a_ts = _poisson_times(rng, lam / q, signup, t1v)
    first_visit = np.flatnonzero(rng.random(n) < 0.6)
    a_c = np.r_[a_c, first_visit]
    a_ts = np.r_[a_ts, np.minimum(np.floor(signup[first_visit] + rng.uniform(300, 3 * HOUR, first_visit.size)), t1 - 1)]
    o = np.lexsort((a_ts, a_c))
    a_c, a_ts = a_c[o], a_ts[o]
    A = a_c.size
    app = rng.random(A) < aff[a_c]
    a_ch = np.where(app, _C["app"], _C["web"])
    cart = rng.random(A) < FUNNEL_CART
    chk = cart & (rng.random(A) < FUNNEL_CHECKOUT)
    pay = chk & (rng.random(A) < np.where(app, FUNNEL_PAY_APP, FUNNEL_PAY_WEB))
    gap1 = np.where(rng.random(A) < 0.12, rng.uniform(DAY, 6 * DAY, A), np.exp(rng.normal(np.log(240), 0.8, A)))
    gap2 = np.where(rng.random(A) < 0.08, rng.uniform(DAY, 4 * DAY, A), np.exp(rng.normal(np.log(180), 0.8, A)))
    gap3 = np.where(rng.random(A) < 0.2, 0.0, np.exp(rng.normal(np.log(90), 0.6, A)))
    cart_ts = np.floor(a_ts + 20 + gap1)
    chk_ts = np.floor(cart_ts + 10 + gap2)
    pay_ts = np.floor(chk_ts + gap3)
    completed = pay & (pay_ts < t1)
    # BG/NBD: after each order the customer stops buying for good with probability pdrop
    k_drop = rng.geometric(pdrop)
    prior = _group_cumsum(a_c, completed.astype(np.int64)) - completed
    keep = prior < k_drop[a_c]
    last_order = completed & keep & (prior == k_drop[a_c] - 1)
    dormant = np.full(n, inf)
    dormant[a_c[last_order]] = pay_ts[last_order]
    sel = np.flatnonzero(keep)
    a_c, a_ts, app, a_ch, cart, chk, pay, completed = (x[sel] for x in (a_c, a_ts, app, a_ch, cart, chk, pay, completed))
    cart_ts, chk_ts, pay_ts, gap1 = cart_ts[sel], chk_ts[sel], pay_ts[sel], gap1[sel]
    A = a_c.size
    aidx = np.arange(A)
    ev.add(c=a_c, ts=a_ts, tp=_T["product_page"], ch=a_ch, sk=1, sn=aidx)
    home = rng.random(A) < 0.4
    home_ts = np.where(rng.random(A) < 0.15, a_ts, a_ts - np.floor(rng.uniform(5, 180, A)))
    i = np.flatnonzero(home)
    ev.add(c=a_c[i], ts=home_ts[i], tp=_T["home_page"], ch=a_ch[i], sk=1, sn=i)
    i = np.flatnonzero(home & app & (rng.random(A) < 0.5))  # app opened: login and home page share a time
    ev.add(c=a_c[i], ts=home_ts[i], tp=_T["app_login"], ch=_C["app"], sk=1, sn=i)
    i = np.flatnonzero(rng.random(A) < 0.3)  # a marketing touch just before the visit
    entry_tp = np.array([_T["ad_click"], _T["social_post"], _T["email_open"], _T["ad_click"], _T["email_open"]])[acq[a_c[i]]]
    entry_ch = np.where(entry_tp == _T["email_open"], _C["email"], a_ch[i])
    ev.add(c=a_c[i], ts=a_ts[i] - np.floor(rng.uniform(60, 1800, i.size)), tp=entry_tp, ch=entry_ch, sk=1, sn=i)
    lim = np.minimum(np.where(cart, gap1, 900.0), 900.0)
    for tp, p in (("compare", 0.15), ("reviews", 0.15)):
        i = np.flatnonzero(rng.random(A) < p)
        ev.add(c=a_c[i], ts=np.floor(a_ts[i] + 5 + rng.uniform(0.05, 0.9, i.size) * lim[i]), tp=_T[tp], ch=a_ch[i], sk=1, sn=i)
    for mask, ts_, tp in ((cart, cart_ts, "add_to_cart"), (chk, chk_ts, "checkout"), (pay, pay_ts, "payment")):
        i = np.flatnonzero(mask)
        ev.add(c=a_c[i], ts=ts_[i], tp=_T[tp], ch=a_ch[i], sk=1, sn=i)
    i = np.flatnonzero(chk & (rng.random(A) < RESPONSE_P["checkout"]))
    sv.add(
        c=a_c[i],
        ts=np.floor(chk_ts[i] + rng.uniform(60, 1800, i.size)),
        metric=1,
        score=_score(rng, CHECKOUT_CSAT[0] - CHECKOUT_CSAT[1] * app[i], 0.85, 1, 5),
        tp=_T["checkout"],
        ch=a_ch[i],
        ctx=np.where(app[i], _CTX_I["checkout_app"], _CTX_I["checkout_web"]),
    )
    oi = np.flatnonzero(completed)
    o_c, o_ts, o_app = a_c[oi], pay_ts[oi], app[oi]
    nO = oi.size
    amount = np.round(np.maximum(rng.gamma(6.0, spend[o_c] / 6.0), 1.0), 2)
    i = np.flatnonzero(rng.random(nO) < RESPONSE_P["payment"])
    sv.add(
        c=o_c[i],
        ts=np.floor(o_ts[i] + rng.uniform(60, 1800, i.size)),
        metric=1,
        score=_score(rng, np.full(i.size, 4.4), 0.8, 1, 5),
        tp=_T["payment"],
        ch=a_ch[oi][i],
        ctx=_CTX_I["payment"],
    )
    late = rng.random(nO) < 0.08
    del_ts = np.floor(o_ts + np.where(late, rng.uniform(6 * DAY, 12 * DAY, nO), rng.uniform(DAY, 4 * DAY, nO)))
    del_ch = np.where(o_app, _C["app"], _C["email"])
    ev.add(c=o_c, ts=del_ts, tp=_T["delivery"], ch=del_ch, sk=0, sn=0)
    i = np.flatnonzero(rng.random(nO) < RESPONSE_P["delivery"])
    sv.add(
        c=o_c[i],
        ts=np.floor(del_ts[i] + rng.uniform(2 * HOUR, 48 * HOUR, i.size)),
        metric=1,
        score=_score(rng, 4.35 - 2.0 * late[i], 0.85, 1, 5),
        tp=_T["delivery"],
        ch=del_ch[i],
        ctx=_CTX_I["delivery"],
    )
    i = np.flatnonzero(rng.random(nO) < np.where(persona[o_c] == 1, 0.25, 0.08))
    ev.add(
        c=o_c[i],
        ts=np.floor(del_ts[i] + rng.uniform(DAY, 14 * DAY, i.size)),
        tp=_T["review_written"],
        ch=np.where(o_app[i], _C["app"], _C["web"]),
        sk=0,
        sn=0,
    )

    # ---- awareness, loyalty and self-service -------------------------------------------------
    store = acq == 4
    i = np.flatnonzero(~store)
    kpre = 1 + rng.poisson(0.8, i.size)
    pc = np.repeat(i, kpre)
    pre_tp = np.array([_T["ad_click"], _T["social_post"], _T["email_open"], _T["ad_click"], -1])[acq[pc]]
    pre_ch = np.where(pre_tp == _T["email_open"], _C["email"], np.where(rng.random(pc.size) < aff[pc], _C["app"], _C["web"]))
    ev.add(c=pc, ts=signup[pc] - np.floor(rng.uniform(600, 14 * DAY, pc.size)), tp=pre_tp, ch=pre_ch, sk=0, sn=0)
    ev.add(c=i, ts=signup[i], tp=_T["home_page"], ch=np.where(aff[i] > 0.5, _C["app"], _C["web"]), sk=0, sn=0)
    i = np.flatnonzero(store)
    ev.add(c=i, ts=signup[i], tp=_T["store_visit"], ch=_C["store"], sk=0, sn=0)
    month = YEAR / 12
    for tp, ch, rate in (
        ("email_open", "email", np.where(rng.random(n) < 0.7, 0.4, 0.0) / month),
        ("newsletter", "email", np.where(rng.random(n) < np.where(persona == 1, 0.7, 0.4), 0.5, 0.0) / month),
        ("app_login", "app", np.where(persona == 1, 1.0 * aff, 0.02 + 0.4 * aff**2) / (7 * DAY)),
        ("store_visit", "store", np.where(store, 0.6, 0.05) / YEAR),
    ):
        c, ts = _poisson_times(rng, rate, signup, t1v)
        ev.add(c=c, ts=ts, tp=_T[tp], ch=_C[ch], sk=0, sn=0)
    c, ts = _poisson_times(rng, np.array([0.2, 1.0, 0.05])[persona] / YEAR, signup, t1v)
    ev.add(c=c, ts=ts, tp=_T["referral"], ch=np.array([_C["email"], _C["app"], _C["web"]])[_choice(rng, c.size, (0.4, 0.3, 0.3))], sk=0, sn=0)
    hc_c, hc_ts = _poisson_times(rng, np.array([0.8, 0.5, 3.0])[persona] / YEAR, signup, t1v)
    hc_ch = np.where(rng.random(hc_c.size) < aff[hc_c], _C["app"], _C["web"])
    ev.add(c=hc_c, ts=hc_ts, tp=_T["help_center"], ch=hc_ch, sk=1, sn=A + np.arange(hc_c.size))
    n_sessions = A + hc_c.size
    i = np.flatnonzero(rng.random(hc_c.size) < RESPONSE_P["help_center_csat"])
    sv.add(
        c=hc_c[i], ts=np.floor(hc_ts[i] + rng.uniform(60, 3600, i.size)), metric=1,
        score=_score(rng, np.full(i.size, 3.9), 0.9, 1, 5), tp=_T["help_center"], ch=hc_ch[i], ctx=_CTX_I["help_center"],
    )
    i = np.flatnonzero(rng.random(hc_c.size) < RESPONSE_P["help_center_ces"])
    sv.add(
        c=hc_c[i], ts=np.floor(hc_ts[i] + rng.uniform(60, 3600, i.size)), metric=2,
        score=_score(rng, np.full(i.size, 5.0), 1.1, 1, 7), tp=_T["help_center"], ch=hc_ch[i], ctx=_CTX_I["ces"],
    )

    # ---- relationship NPS: peak-end of earlier ratings, long resolutions ---------------------
    sv_all = sv.done()
    r = np.flatnonzero((sv_all["metric"] == 1) & (sv_all["ts"] < t1))
    inv1 = np.flatnonzero(rng.random(n) < 0.95)
    ts1 = _daytime(rng, signup[inv1] + np.floor(rng.uniform(14 * DAY, 200 * DAY, inv1.size)))
    inv2 = np.flatnonzero(rng.random(inv1.size) < 0.55)
    ts2 = _daytime(rng, ts1[inv2] + np.floor(rng.uniform(120 * DAY, 360 * DAY, inv2.size)))
    q_c = np.r_[inv1, inv1[inv2]]
    q_ts = np.r_[ts1, ts2]
    q_no = np.r_[np.zeros(inv1.size, np.int8), np.ones(inv2.size, np.int8)]
    ok = q_ts < t1
    q_c, q_ts, q_no = q_c[ok], q_ts[ok], q_no[ok]
    cnt, _mean, peak, end = peak_end_before(sv_all["c"][r], sv_all["ts"][r], sv_all["score"][r], q_c, q_ts)
    first_long = np.full(n, inf)
    np.minimum.at(first_long, k_c, t_long)
    long_before = first_long[q_c] <= q_ts
    pe = np.where(cnt > 0, (peak + end) / 2.0 - 4.0, 0.0)
    cust_u = rng.normal(0.0, NPS_CUSTOMER_SD, n)
    latent = (
        NPS_BASE
        + np.array(NPS_PERSONA)[persona[q_c]]
        + NPS_REFERRAL * (acq[q_c] == 2)
        + NPS_PEAK_END * pe
        + NPS_LONG * long_before
        + cust_u[q_c]
    )
    nps = _score(rng, latent, NPS_NOISE_SD, 0, 10)
    q_ch = np.where(rng.random(q_c.size) < 0.4 * aff[q_c] + 0.1, _C["app"], _C["email"])
    nps_ctx = np.where(nps <= 6, np.where(long_before, _CTX_I["nps_neg_long"], _CTX_I["nps_neg"]), np.where(nps <= 8, _CTX_I["nps_neu"], _CTX_I["nps_pos"]))
    sv.add(c=q_c, ts=q_ts, metric=0, score=nps, tp=-1, ch=q_ch, ctx=nps_ctx)

    # ---- churn: piecewise-constant hazard ----------------------------------------------------
    cat = np.where(nps <= 6, 3, np.where(nps <= 8, 2, 1))
    nps_t = np.full((n, 2), inf)
    nps_cat = np.zeros((n, 2), dtype=np.int64)
    nps_t[q_c, q_no] = q_ts
    nps_cat[q_c, q_no] = cat
    bps = np.sort(np.column_stack([first_long, nps_t]), axis=1)
    T = np.column_stack([expo, np.clip(bps, expo[:, None], t1), t1v])  # (n, 5): 4 segments
    seg_start = T[:, :-1]
    seg_len = np.diff(T, axis=1)
    long_on = first_long[:, None] <= seg_start
    state = np.where(nps_t[:, 1:2] <= seg_start, nps_cat[:, 1:2], np.where(nps_t[:, 0:1] <= seg_start, nps_cat[:, 0:1], 0))
    rate = CHURN_BASE_PER_YEAR / YEAR * np.array(CHURN_NPS_MULT)[state] * np.where(long_on, CHURN_LONG_MULT, 1.0)
    H = np.cumsum(rate * seg_len, axis=1)
    E = rng.exponential(1.0, n)
    hit = H >= E[:, None]
    churned = hit.any(axis=1)
    j = np.argmax(hit, axis=1)
    rows = np.arange(n)
    H_before = np.where(j > 0, H[rows, np.maximum(j - 1, 0)], 0.0)
    churn_at = np.where(
        churned, np.floor(seg_start[rows, j] + (E - H_before) / np.maximum(rate[rows, j], 1e-300)), inf
    )
    churn_at = np.where(churned, np.clip(churn_at, expo, t1 - 1), inf)
    churned = np.isfinite(churn_at)

    # ---- keep what happened before churn and before the end -----------------------------------
    E_ = ev.done()
    keep = (E_["ts"] < np.minimum(churn_at[E_["c"]], t1)) & (E_["tp"] >= 0)
    E_ = {k: v[keep] for k, v in E_.items()}
    S_ = sv.done()
    keep = S_["ts"] < np.minimum(churn_at[S_["c"]], t1)
    S_ = {k: v[keep] for k, v in S_.items()}
    ok = o_ts < np.minimum(churn_at[o_c], t1)
    orders = {"c": o_c[ok], "ts": o_ts[ok], "amount": amount[ok], "ch": np.where(o_app[ok], _C["app"], _C["web"])}
    kk = np.flatnonzero(k_open < np.minimum(churn_at[k_c], t1))
    stop_k = np.minimum(churn_at[k_c[kk]], t1)
    ho_kept = handoff[kk] & (ho_ts[kk] < stop_k)
    rp_kept = repeat[kk] & (rp_ts[kk] < stop_k)
    renum = np.full(m, -1, dtype=np.int64)
    renum[kk] = np.arange(kk.size)
    is_k = E_["sk"] == 2
    E_["sn"] = np.where(is_k, renum[np.where(is_k, E_["sn"], 0).astype(np.int64)], E_["sn"])
    tickets = {
        "c": k_c[kk],
        "opened": k_open[kk],
        "resolved": np.where(resolved[kk] < t1, resolved[kk], np.nan),
        "ch": k_ch[kk],
        "cat": k_cat[kk],
        "agent": k_agent[kk],
        "contacts": 1 + ho_kept + rp_kept,
        "reopened": reopened[kk] & rp_kept,
        "sn": np.arange(kk.size),  # ticket number inside the block (session id of its contact events)
    }
    t_long_k = t_long[kk]
    long_res = np.zeros(n, bool)
    long_res[k_c[kk][t_long_k < np.minimum(churn_at[k_c[kk]], t1)]] = True
    long_at = np.full(n, inf)
    np.minimum.at(long_at, k_c[kk], np.where(t_long_k < np.minimum(churn_at[k_c[kk]], t1), t_long_k, inf))
    n_handoff = np.bincount(k_c[kk][ho_kept], minlength=n)
    cust = {
        "signup": signup,
        "region": region,
        "plan": plan,
        "acq": acq,
        "age": age,
        "has_sub": has_sub,
        "started": started,
    }
    truth = {
        "persona": persona,
        "churned": churned,
        "churn_at": np.where(churned, churn_at, np.nan),
        "long_resolution": long_res,
        "long_at": np.where(np.isfinite(long_at), long_at, np.nan),
        "handoff": n_handoff > 0,
        "handoff_tickets": n_handoff,
        "app_affinity": aff,
        "purchases_per_week": lam * 7 * DAY,
        "dropout_p": pdrop,
        "purchase_dormant_at": np.where(dormant < np.minimum(churn_at, t1), dormant, np.nan),
        "spend_mean": spend,
    }
    cust["n_sessions"] = n_sessions
    return cust, E_, S_, orders, tickets, truth


# ----------------------------------------------------------------------------------------------
# Comments
# ----------------------------------------------------------------------------------------------


def _comments(rng, S, phrases, p_off, p_cnt):
    """Object array of comments (None where the respondent left none)."""
    k = S["c"].size
    metric = S["metric"]
    score = S["score"]
    senti = np.select(
        [metric == 0, metric == 1],
        [_rating_class(score, 0, 10), _rating_class(score, 1, 5)],
        _rating_class(score, 1, 7),
    )
    has = rng.random(k) < np.where(senti == 0, COMMENT_P + 0.12, COMMENT_P - 0.04)
    out = np.full(k, None, dtype=object)
    i = np.flatnonzero(has)
    ctx = S["ctx"][i]
    th = _rows_choice(rng, _THEME_W[ctx])
    se = senti[i]
    first = p_off[th, se] + np.floor(rng.random(i.size) * p_cnt[th, se]).astype(np.int64)
    text = phrases[first]
    # a second theme in a fifth of the comments (same sentiment)
    two = np.flatnonzero(rng.random(i.size) < 0.2)
    th2 = _rows_choice(rng, _THEME_W[ctx[two]])
    second = p_off[th2, se[two]] + np.floor(rng.random(two.size) * p_cnt[th2, se[two]]).astype(np.int64)
    diff = th2 != th[two]
    two, second = two[diff], second[diff]
    if two.size:
        text = text.copy()
        text[two] = pd.Series(text[two]).str.cat(pd.Series(phrases[second]).str.lower(), sep=". ").to_numpy()
    out[i] = text
    return out


# ----------------------------------------------------------------------------------------------
# Writing
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
    con.register("_sample_src", arrow_table)
    try:
        con.execute(f"INSERT INTO {table} SELECT {select} FROM _sample_src")
    finally:
        con.unregister("_sample_src")


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


def _end_ts(end) -> float:
    try:
        ts = pd.Timestamp(end)
    except (ValueError, TypeError) as exc:
        raise CxInputError(f"end must be a date such as '2026-06-30', got {end!r}") from exc
    if ts is pd.NaT:
        raise CxInputError(f"end must be a date such as '2026-06-30', got {end!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return float((ts.normalize() + pd.Timedelta(days=1)).value // 10**9)


def generate(path, *, customers: int = 5000, seed: int = 42, end="2026-06-30") -> dict[str, int]:
    """Build a fresh sample store at `path`; return its row count per table (and sample_truth).

    customers: how many customers (>= 1); seed: any non-negative integer (same seed, same
    store); end: the last day of data ('YYYY-MM-DD', date or timestamp; UTC). An existing file
    at `path` is deleted first; if the build fails, the partial file is removed. See the module
    docstring for the model, the planted effects and sample_truth.
    """
    if isinstance(customers, bool) or not isinstance(customers, (int, np.integer)) or customers < 1:
        raise CxInputError(f"customers must be a whole number of at least 1, got {customers!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CxInputError(f"seed must be a non-negative whole number, got {seed!r}")
    customers, seed = int(customers), int(seed)
    t1 = _end_ts(end)
    t0 = t1 - SPAN_DAYS * DAY
    path = Path(path)
    for p in (path, Path(str(path) + ".wal")):
        if p.exists():
            p.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)

    from cxlib.store.connection import connect, refresh_derived

    source = f"sample seed={seed} customers={customers}"
    started_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    width = max(7, len(str(customers)))
    n_agents = int(np.clip(customers // 60, 15, 5000))
    agent_speed = np.exp(np.random.default_rng([seed, 7]).normal(0.0, 0.25, n_agents))
    phrases, p_off, p_cnt = _phrase_table()
    blocks = np.random.SeedSequence(seed).spawn((customers + CHUNK - 1) // CHUNK)
    counts = dict.fromkeys(["customers", "touchpoint_stages", "events", "survey_responses", "orders", "tickets", "subscriptions"], 0)

    con = connect(path, read_only=False)
    try:
        con.execute("BEGIN TRANSACTION")
        for col in ("region", "plan", "acquisition_channel", "age_band"):
            con.execute(f'ALTER TABLE customers ADD COLUMN IF NOT EXISTS "{col}" VARCHAR')
        con.execute("DROP TABLE IF EXISTS sample_truth")
        con.execute(TRUTH_DDL)
        stages = pa.table({"touchpoint": list(TOUCHPOINT_STAGES), "stage": list(TOUCHPOINT_STAGES.values())})
        con.execute("DELETE FROM touchpoint_stages")  # the store may start with the shipped map: same content
        _insert(con, "touchpoint_stages", stages, "touchpoint, stage")
        counts["touchpoint_stages"] = len(TOUCHPOINT_STAGES)

        n_off = k_off = o_off = r_off = s_off = 0
        for b, ss in enumerate(blocks):
            rng = np.random.default_rng(ss)
            n = min(CHUNK, customers - b * CHUNK)
            cust, E, S, O, K, truth = _simulate(rng, n, t0, t1, agent_speed)
            cid = np.arange(n, dtype=np.int64) + n_off + 1

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

            # events: drop exact duplicates of the key, order by customer and time
            rel = (E["ts"] - (t0 - 64 * DAY)).astype(np.int64)
            key = (((E["c"].astype(np.int64) << 28) | rel) << 10) | (E["tp"].astype(np.int64) << 3) | E["ch"].astype(np.int64)
            o = np.argsort(key, kind="stable")
            key = key[o]
            u = np.r_[True, key[1:] != key[:-1]]
            o = o[u]
            sk = E["sk"][o].astype(np.int64)
            sn = E["sn"][o].astype(np.int64)
            sess = np.where(sk == 2, sn + k_off + 1, np.where(sk == 1, sn + s_off + 1, 0))
            _insert(
                con,
                "events",
                pa.table(
                    {
                        "c": E["c"][o].astype(np.int64) + n_off + 1,
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
            counts["events"] += int(o.size)

            # survey responses, numbered in customer-time order
            o = np.lexsort((S["ts"], S["c"]))
            S = {k: v[o] for k, v in S.items()}
            comment = _comments(rng, S, phrases, p_off, p_cnt)
            if b == 0 and comment.size:
                pick = rng.choice(comment.size, size=min(comment.size, len(UNTRUSTED_COMMENTS) * UNTRUSTED_COPIES), replace=False)
                comment[pick] = np.resize(np.array(UNTRUSTED_COMMENTS, dtype=object), pick.size)
            nS = S["c"].size
            _insert(
                con,
                "survey_responses",
                pa.table(
                    {
                        "r": np.arange(nS, dtype=np.int64) + r_off + 1,
                        "c": S["c"].astype(np.int64) + n_off + 1,
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
            counts["survey_responses"] += nS

            o = np.lexsort((O["ts"], O["c"]))
            nO = o.size
            _insert(
                con,
                "orders",
                pa.table(
                    {
                        "o": np.arange(nO, dtype=np.int64) + o_off + 1,
                        "c": O["c"][o].astype(np.int64) + n_off + 1,
                        "ts": _ts_array(O["ts"][o]),
                        "amount": O["amount"][o],
                        "ch": _dict_array(O["ch"][o], CHANNELS),
                    }
                ),
                f"{_id_sql('o', 'O', 9)}, {_id_sql('c', 'C', width)}, ts, amount, ch",
            )
            counts["orders"] += nO

            nK = K["c"].size
            _insert(
                con,
                "tickets",
                pa.table(
                    {
                        "k": K["sn"].astype(np.int64) + k_off + 1,
                        "c": K["c"].astype(np.int64) + n_off + 1,
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
            counts["tickets"] += nK

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
            counts["subscriptions"] += int(i.size)

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
            counts["customers"] += n
            n_off += n
            k_off += nK
            o_off += nO
            r_off += nS
            s_off += int(cust["n_sessions"])

        finished_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        first_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_log").fetchone()[0]
        for j, (tname, rows) in enumerate(counts.items()):
            con.execute(
                "INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'UTC', NULL)",
                [first_id + j, tname, source, started_at, finished_at, rows, rows],
            )
        refresh_derived(con)
        con.execute("COMMIT")
        counts["sample_truth"] = customers
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - the original error matters more
            pass
        con.close()
        for p in (path, Path(str(path) + ".wal")):
            if p.exists():
                p.unlink()
        raise
    con.close()
    return counts
