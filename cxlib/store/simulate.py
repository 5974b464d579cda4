"""The simulation model behind the sample store: vocabulary, planted parameters, comment phrases,
and the simulation of one block of customers.

``cxlib.store.sample`` owns the public ``generate``, writes the tables and re-exports the public
names defined here; its module docstring describes the model and the planted effects in full.

``_simulate`` tells the story of one block as one call per step, in this order:
``_customers`` (who they are and their hidden traits), ``_tickets`` with ``_ticket_contacts`` and
``_ticket_surveys`` (service tickets), ``_visits``, ``_purchase_dropout``, ``_visit_events``,
``_checkout_survey``, ``_orders`` and ``_deliveries`` (shopping), ``_awareness``, ``_loyalty`` and
``_self_service``, ``_relationship_nps``, ``_churn``, and ``_before_churn`` (keep what happened
before churn and the end). The random generator is drawn from in exactly this order: the same
(customers, seed, end) always gives the same store, so keep the order of the draws when editing.
``_comments`` writes the survey comments afterwards (``generate`` calls it with the same generator).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

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


# ----------------------------------------------------------------------------------------------
# Model parameters (the planted truth; described in the docstring of cxlib.store.sample)
# ----------------------------------------------------------------------------------------------

DAY = 86400.0
HOUR = 3600.0
YEAR = 365.0 * DAY

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
        arrays = [np.size(v) for v in kw.values() if np.ndim(v) > 0]
        size = max(arrays) if arrays else 1  # an empty selection adds no row, whatever the scalars
        for n, parts in self.cols.items():
            v = kw[n]
            parts.append(np.full(size, v) if np.ndim(v) == 0 else np.asarray(v))

    def done(self) -> dict[str, np.ndarray]:
        return {n: np.concatenate(p) if p else np.zeros(0) for n, p in self.cols.items()}



# ----------------------------------------------------------------------------------------------
# Simulation of one block of customers
# ----------------------------------------------------------------------------------------------


@dataclass
class _Customers:
    """One block of customers: what the customers table shows and the hidden traits (arrays of n)."""

    n: int
    t1: float  # the end of the data (seconds since the epoch)
    persona: np.ndarray
    region: np.ndarray
    plan: np.ndarray
    acq: np.ndarray
    age: np.ndarray
    signup: np.ndarray
    has_sub: np.ndarray
    started: np.ndarray  # subscription start
    expo: np.ndarray  # exposed to churn from: the subscription start, else the sign-up
    aff: np.ndarray  # app affinity: share of shopping visits on the app
    lam: np.ndarray  # purchase rate per second
    pdrop: np.ndarray  # BG/NBD dropout probability after each order
    spend: np.ndarray  # mean order value
    t1v: np.ndarray  # t1 for every customer


@dataclass
class _Tickets:
    """The block's service tickets (index = ticket number in the block), before churn is known."""

    c: np.ndarray  # customer
    opened: np.ndarray
    ch: np.ndarray  # ticket channel (TICKET_CHANNELS)
    cat: np.ndarray
    agent: np.ndarray
    handoff: np.ndarray
    ho_ts: np.ndarray  # time of the hand-off phone call
    repeat: np.ndarray
    rp_ts: np.ndarray  # time, touchpoint and channel of the repeat contact
    rp_tp: np.ndarray
    rp_ch: np.ndarray
    reopened: np.ndarray
    resolved: np.ndarray
    long_: np.ndarray  # resolution took more than LONG_HOURS
    t_long: np.ndarray  # the moment it passed LONG_HOURS (inf if never, or not before t1)
    first_tp: np.ndarray  # touchpoint and channel of the first contact
    first_ch: np.ndarray
    first_long: np.ndarray  # per customer: the first t_long of their tickets (inf if none)


@dataclass
class _Visits:
    """Shopping visits (sorted by customer and time) and how far each went down the funnel."""

    c: np.ndarray
    ts: np.ndarray
    app: np.ndarray
    ch: np.ndarray
    cart: np.ndarray
    chk: np.ndarray
    pay: np.ndarray
    completed: np.ndarray  # paid before the end
    cart_ts: np.ndarray
    chk_ts: np.ndarray
    pay_ts: np.ndarray
    gap1: np.ndarray  # seconds from the product page to add_to_cart

    def take(self, i) -> _Visits:
        return _Visits(*(getattr(self, f.name)[i] for f in fields(self)))


@dataclass
class _Orders:
    """Orders: the completed payments."""

    c: np.ndarray
    ts: np.ndarray
    app: np.ndarray
    amount: np.ndarray


@dataclass
class _Nps:
    """Relationship NPS answers: customer, time, 0 for the first invitation or 1 for the second, score."""

    c: np.ndarray
    ts: np.ndarray
    no: np.ndarray
    score: np.ndarray


def _simulate(rng, n, t0, t1, agent_speed):
    """One block of n customers: (customers, events, survey answers, orders, tickets, sample truth).

    Events and answers are column dicts (customer index within the block, times in seconds,
    codes into the vocabulary); the steps below run, and draw from `rng`, in this fixed order.
    """
    cu = _customers(rng, n, t0, t1)
    ev = _Rows("c", "ts", "tp", "ch", "sk", "sn")  # sk: session kind 0 none, 1 visit, 2 ticket
    sv = _Rows("c", "ts", "metric", "score", "tp", "ch", "ctx")

    tk = _tickets(rng, cu, agent_speed)
    _ticket_contacts(tk, ev)
    _ticket_surveys(rng, tk, t1, sv)

    visits = _visits(rng, cu)
    visits, dormant = _purchase_dropout(rng, cu, visits)
    _visit_events(rng, cu, visits, ev)
    _checkout_survey(rng, visits, sv)
    orders = _orders(rng, cu, visits, sv)
    _deliveries(rng, cu, orders, ev, sv)

    _awareness(rng, cu, ev)
    _loyalty(rng, cu, ev)
    n_sessions = _self_service(rng, cu, visits.c.size, ev, sv)

    nps = _relationship_nps(rng, cu, tk, sv)
    churn_at = _churn(rng, cu, tk.first_long, nps)
    return _before_churn(cu, tk, orders, ev, sv, churn_at, dormant, n_sessions)


def _customers(rng, n, t0, t1) -> _Customers:
    """Persona, region, plan, acquisition, age band, sign-up, subscription and buying traits."""
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
    return _Customers(
        n=n, t1=t1, persona=persona, region=region, plan=plan, acq=acq, age=age, signup=signup,
        has_sub=has_sub, started=started, expo=expo, aff=aff, lam=lam, pdrop=pdrop, spend=spend,
        t1v=np.full(n, t1),
    )


# ---- service tickets -------------------------------------------------------------------------


def _tickets(rng, cu: _Customers, agent_speed) -> _Tickets:
    """Tickets: arrival, channel, category, agent, hand-off, repeat contact and resolution time."""
    persona, t1 = cu.persona, cu.t1
    k_c, k_open = _poisson_times(rng, np.array(TICKETS_PER_YEAR)[persona] / YEAR, cu.signup, cu.t1v, ordered=True)
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
    t_long = np.where(long_, k_open + LONG_HOURS * HOUR, np.inf)
    t_long = np.where(t_long < t1, t_long, np.inf)
    first_long = np.full(cu.n, np.inf)
    np.minimum.at(first_long, k_c, t_long)
    return _Tickets(
        c=k_c, opened=k_open, ch=k_ch, cat=k_cat, agent=k_agent, handoff=handoff, ho_ts=ho_ts,
        repeat=repeat, rp_ts=rp_ts, rp_tp=rp_tp, rp_ch=rp_ch, reopened=reopened, resolved=resolved,
        long_=long_, t_long=t_long,
        first_tp=np.array([_T[_TICKET_FIRST[c][0]] for c in TICKET_CHANNELS])[k_ch],
        first_ch=np.array([_C[_TICKET_FIRST[c][1]] for c in TICKET_CHANNELS])[k_ch],
        first_long=first_long,
    )


def _ticket_contacts(tk: _Tickets, ev: _Rows) -> None:
    """Contact events (session = the ticket): the first contact, the hand-off call, the repeat contact."""
    kidx = np.arange(tk.c.size)
    ev.add(c=tk.c, ts=tk.opened, tp=tk.first_tp, ch=tk.first_ch, sk=2, sn=kidx)
    h = np.flatnonzero(tk.handoff)
    ev.add(c=tk.c[h], ts=tk.ho_ts[h], tp=_T["phone_call"], ch=_C["phone"], sk=2, sn=h)
    r = np.flatnonzero(tk.repeat)
    ev.add(c=tk.c[r], ts=tk.rp_ts[r], tp=tk.rp_tp[r], ch=tk.rp_ch[r], sk=2, sn=r)


def _ticket_surveys(rng, tk: _Tickets, t1, sv: _Rows) -> None:
    """CSAT and CES after resolved tickets (lower after a long resolution; CES lower after a hand-off)."""
    m, k_cat, long_ = tk.c.size, tk.cat, tk.long_
    done = tk.resolved < t1
    s = np.flatnonzero(done & (rng.random(m) < RESPONSE_P["ticket_csat"]))
    ctx = np.where(long_, _CTX_I["ticket_long"], np.where(k_cat == 0, _CTX_I["ticket_billing"], _CTX_I["ticket"]))
    ctx = np.where(~long_ & ((k_cat == 1) | (k_cat == 4)), _CTX_I["ticket_delivery"], ctx)
    sv.add(
        c=tk.c[s],
        ts=np.floor(tk.resolved[s] + rng.uniform(HOUR, 24 * HOUR, s.size)),
        metric=1,
        score=_score(rng, TICKET_CSAT[0] - TICKET_CSAT[1] * long_[s], 0.85, 1, 5),
        tp=tk.first_tp[s],
        ch=tk.first_ch[s],
        ctx=ctx[s],
    )
    s = np.flatnonzero(done & (rng.random(m) < RESPONSE_P["ticket_ces"]))
    sv.add(
        c=tk.c[s],
        ts=np.floor(tk.resolved[s] + rng.uniform(HOUR, 30 * HOUR, s.size)),
        metric=2,
        score=_score(rng, TICKET_CES[0] - TICKET_CES[1] * tk.handoff[s] - TICKET_CES[2] * long_[s], 1.0, 1, 7),
        tp=tk.first_tp[s],
        ch=tk.first_ch[s],
        ctx=_CTX_I["ces"],
    )


# ---- shopping visits: the purchase funnel and BG/NBD orders ----------------------------------


def _visits(rng, cu: _Customers) -> _Visits:
    """Shopping visits (Poisson, plus a first visit soon after sign-up for 60%) through the funnel."""
    aff, t1 = cu.aff, cu.t1
    q = FUNNEL_CART * FUNNEL_CHECKOUT * (aff * FUNNEL_PAY_APP + (1 - aff) * FUNNEL_PAY_WEB)
    a_c, a_ts = _poisson_times(rng, cu.lam / q, cu.signup, cu.t1v)
    first_visit = np.flatnonzero(rng.random(cu.n) < 0.6)
    a_c = np.r_[a_c, first_visit]
    a_ts = np.r_[a_ts, np.minimum(np.floor(cu.signup[first_visit] + rng.uniform(300, 3 * HOUR, first_visit.size)), t1 - 1)]
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
    return _Visits(a_c, a_ts, app, a_ch, cart, chk, pay, completed, cart_ts, chk_ts, pay_ts, gap1)


def _purchase_dropout(rng, cu: _Customers, v: _Visits) -> tuple[_Visits, np.ndarray]:
    """BG/NBD: after each order the customer stops buying for good with probability pdrop.

    Returns the visits before that (later ones are dropped) and, per customer, the time of the
    last order before dormancy (inf if they never went dormant).
    """
    k_drop = rng.geometric(cu.pdrop)
    prior = _group_cumsum(v.c, v.completed.astype(np.int64)) - v.completed
    keep = prior < k_drop[v.c]
    last_order = v.completed & keep & (prior == k_drop[v.c] - 1)
    dormant = np.full(cu.n, np.inf)
    dormant[v.c[last_order]] = v.pay_ts[last_order]
    return v.take(np.flatnonzero(keep)), dormant


def _visit_events(rng, cu: _Customers, v: _Visits, ev: _Rows) -> None:
    """A visit's events (session = the visit): home page, app login, marketing touch, browsing, funnel."""
    a_c, a_ts, a_ch, app = v.c, v.ts, v.ch, v.app
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
    entry_tp = np.array([_T["ad_click"], _T["social_post"], _T["email_open"], _T["ad_click"], _T["email_open"]])[cu.acq[a_c[i]]]
    entry_ch = np.where(entry_tp == _T["email_open"], _C["email"], a_ch[i])
    ev.add(c=a_c[i], ts=a_ts[i] - np.floor(rng.uniform(60, 1800, i.size)), tp=entry_tp, ch=entry_ch, sk=1, sn=i)
    lim = np.minimum(np.where(v.cart, v.gap1, 900.0), 900.0)
    for tp, p in (("compare", 0.15), ("reviews", 0.15)):
        i = np.flatnonzero(rng.random(A) < p)
        ev.add(c=a_c[i], ts=np.floor(a_ts[i] + 5 + rng.uniform(0.05, 0.9, i.size) * lim[i]), tp=_T[tp], ch=a_ch[i], sk=1, sn=i)
    for mask, ts_, tp in ((v.cart, v.cart_ts, "add_to_cart"), (v.chk, v.chk_ts, "checkout"), (v.pay, v.pay_ts, "payment")):
        i = np.flatnonzero(mask)
        ev.add(c=a_c[i], ts=ts_[i], tp=_T[tp], ch=a_ch[i], sk=1, sn=i)


def _checkout_survey(rng, v: _Visits, sv: _Rows) -> None:
    """CSAT after a checkout (lower on the app)."""
    i = np.flatnonzero(v.chk & (rng.random(v.c.size) < RESPONSE_P["checkout"]))
    sv.add(
        c=v.c[i],
        ts=np.floor(v.chk_ts[i] + rng.uniform(60, 1800, i.size)),
        metric=1,
        score=_score(rng, CHECKOUT_CSAT[0] - CHECKOUT_CSAT[1] * v.app[i], 0.85, 1, 5),
        tp=_T["checkout"],
        ch=v.ch[i],
        ctx=np.where(v.app[i], _CTX_I["checkout_app"], _CTX_I["checkout_web"]),
    )


def _orders(rng, cu: _Customers, v: _Visits, sv: _Rows) -> _Orders:
    """Orders (the completed payments), their amounts and the CSAT after payment."""
    oi = np.flatnonzero(v.completed)
    o_c, o_ts, o_app = v.c[oi], v.pay_ts[oi], v.app[oi]
    nO = oi.size
    amount = np.round(np.maximum(rng.gamma(6.0, cu.spend[o_c] / 6.0), 1.0), 2)
    i = np.flatnonzero(rng.random(nO) < RESPONSE_P["payment"])
    sv.add(
        c=o_c[i],
        ts=np.floor(o_ts[i] + rng.uniform(60, 1800, i.size)),
        metric=1,
        score=_score(rng, np.full(i.size, 4.4), 0.8, 1, 5),
        tp=_T["payment"],
        ch=v.ch[oi][i],
        ctx=_CTX_I["payment"],
    )
    return _Orders(c=o_c, ts=o_ts, app=o_app, amount=amount)


def _deliveries(rng, cu: _Customers, od: _Orders, ev: _Rows, sv: _Rows) -> None:
    """Delivery events (8% late), the CSAT after delivery (low when late) and written reviews."""
    o_c, o_app, nO = od.c, od.app, od.c.size
    late = rng.random(nO) < 0.08
    del_ts = np.floor(od.ts + np.where(late, rng.uniform(6 * DAY, 12 * DAY, nO), rng.uniform(DAY, 4 * DAY, nO)))
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
    i = np.flatnonzero(rng.random(nO) < np.where(cu.persona[o_c] == 1, 0.25, 0.08))
    ev.add(
        c=o_c[i],
        ts=np.floor(del_ts[i] + rng.uniform(DAY, 14 * DAY, i.size)),
        tp=_T["review_written"],
        ch=np.where(o_app[i], _C["app"], _C["web"]),
        sk=0,
        sn=0,
    )


# ---- awareness, loyalty and self-service -----------------------------------------------------


def _awareness(rng, cu: _Customers, ev: _Rows) -> None:
    """Touches before sign-up by acquisition channel, then a home_page (or a store_visit) at sign-up."""
    acq, aff, signup = cu.acq, cu.aff, cu.signup
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


def _loyalty(rng, cu: _Customers, ev: _Rows) -> None:
    """Email opens, newsletters, app logins, store visits and referrals over the customer's life."""
    n, persona, aff, signup, t1v = cu.n, cu.persona, cu.aff, cu.signup, cu.t1v
    store = cu.acq == 4
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


def _self_service(rng, cu: _Customers, n_visits: int, ev: _Rows, sv: _Rows) -> int:
    """Help-center visits (sessions numbered after the shopping visits) with their CSAT and CES.

    Returns the number of sessions in the block (shopping visits plus help-center visits).
    """
    hc_c, hc_ts = _poisson_times(rng, np.array([0.8, 0.5, 3.0])[cu.persona] / YEAR, cu.signup, cu.t1v)
    hc_ch = np.where(rng.random(hc_c.size) < cu.aff[hc_c], _C["app"], _C["web"])
    ev.add(c=hc_c, ts=hc_ts, tp=_T["help_center"], ch=hc_ch, sk=1, sn=n_visits + np.arange(hc_c.size))
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
    return n_visits + hc_c.size


# ---- relationship NPS and churn --------------------------------------------------------------


def _relationship_nps(rng, cu: _Customers, tk: _Tickets, sv: _Rows) -> _Nps:
    """Relationship NPS: peak-end of the earlier CSAT ratings, long resolutions, persona, referral."""
    n, t1, signup, persona, acq, aff = cu.n, cu.t1, cu.signup, cu.persona, cu.acq, cu.aff
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
    long_before = tk.first_long[q_c] <= q_ts
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
    return _Nps(c=q_c, ts=q_ts, no=q_no, score=nps)


def _churn(rng, cu: _Customers, first_long, nps: _Nps) -> np.ndarray:
    """Churn time per customer (inf if none before the end) from a piecewise-constant hazard.

    The hazard changes at the first long resolution and at each NPS answer (by its category).
    """
    n, t1, expo = cu.n, cu.t1, cu.expo
    cat = np.where(nps.score <= 6, 3, np.where(nps.score <= 8, 2, 1))
    nps_t = np.full((n, 2), np.inf)
    nps_cat = np.zeros((n, 2), dtype=np.int64)
    nps_t[nps.c, nps.no] = nps.ts
    nps_cat[nps.c, nps.no] = cat
    bps = np.sort(np.column_stack([first_long, nps_t]), axis=1)
    T = np.column_stack([expo, np.clip(bps, expo[:, None], t1), cu.t1v])  # (n, 5): 4 segments
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
        churned, np.floor(seg_start[rows, j] + (E - H_before) / np.maximum(rate[rows, j], 1e-300)), np.inf
    )
    return np.where(churned, np.clip(churn_at, expo, t1 - 1), np.inf)


# ---- keep what happened before churn and before the end --------------------------------------


def _before_churn(cu: _Customers, tk: _Tickets, od: _Orders, ev: _Rows, sv: _Rows, churn_at, dormant, n_sessions):
    """The block's tables: what happened before each customer's churn and before the end."""
    t1 = cu.t1
    E_ = ev.done()
    keep = (E_["ts"] < np.minimum(churn_at[E_["c"]], t1)) & (E_["tp"] >= 0)
    E_ = {k: v[keep] for k, v in E_.items()}
    S_ = sv.done()
    keep = S_["ts"] < np.minimum(churn_at[S_["c"]], t1)
    S_ = {k: v[keep] for k, v in S_.items()}
    ok = od.ts < np.minimum(churn_at[od.c], t1)
    orders = {"c": od.c[ok], "ts": od.ts[ok], "amount": od.amount[ok], "ch": np.where(od.app[ok], _C["app"], _C["web"])}
    kk = np.flatnonzero(tk.opened < np.minimum(churn_at[tk.c], t1))
    tickets, ho_kept = _kept_tickets(tk, kk, churn_at, t1)
    E_["sn"] = _renumbered_sessions(E_, kk, tk.c.size)
    cust = {
        "signup": cu.signup,
        "region": cu.region,
        "plan": cu.plan,
        "acq": cu.acq,
        "age": cu.age,
        "has_sub": cu.has_sub,
        "started": cu.started,
        "n_sessions": n_sessions,
    }
    return cust, E_, S_, orders, tickets, _truth(cu, tk, kk, ho_kept, churn_at, dormant)


def _kept_tickets(tk: _Tickets, kk, churn_at, t1) -> tuple[dict, np.ndarray]:
    """The tickets `kk` (opened before churn and end) as the tickets table, and which were handed off in time.

    Contacts and reopened count only the hand-off and repeat contacts before churn and end.
    """
    stop_k = np.minimum(churn_at[tk.c[kk]], t1)
    ho_kept = tk.handoff[kk] & (tk.ho_ts[kk] < stop_k)
    rp_kept = tk.repeat[kk] & (tk.rp_ts[kk] < stop_k)
    tickets = {
        "c": tk.c[kk],
        "opened": tk.opened[kk],
        "resolved": np.where(tk.resolved[kk] < t1, tk.resolved[kk], np.nan),
        "ch": tk.ch[kk],
        "cat": tk.cat[kk],
        "agent": tk.agent[kk],
        "contacts": 1 + ho_kept + rp_kept,
        "reopened": tk.reopened[kk] & rp_kept,
        "sn": np.arange(kk.size),  # ticket number inside the block (session id of its contact events)
    }
    return tickets, ho_kept


def _renumbered_sessions(E_, kk, m) -> np.ndarray:
    """Events' session numbers with ticket numbers (session kind 2) renumbered to the kept tickets `kk`."""
    renum = np.full(m, -1, dtype=np.int64)
    renum[kk] = np.arange(kk.size)
    is_k = E_["sk"] == 2
    return np.where(is_k, renum[np.where(is_k, E_["sn"], 0).astype(np.int64)], E_["sn"])


def _truth(cu: _Customers, tk: _Tickets, kk, ho_kept, churn_at, dormant) -> dict[str, np.ndarray]:
    """The sample_truth columns (see the docstring of cxlib.store.sample)."""
    n, t1 = cu.n, cu.t1
    churned = np.isfinite(churn_at)
    t_long_k = tk.t_long[kk]
    long_res = np.zeros(n, bool)
    long_res[tk.c[kk][t_long_k < np.minimum(churn_at[tk.c[kk]], t1)]] = True
    long_at = np.full(n, np.inf)
    np.minimum.at(long_at, tk.c[kk], np.where(t_long_k < np.minimum(churn_at[tk.c[kk]], t1), t_long_k, np.inf))
    n_handoff = np.bincount(tk.c[kk][ho_kept], minlength=n)
    return {
        "persona": cu.persona,
        "churned": churned,
        "churn_at": np.where(churned, churn_at, np.nan),
        "long_resolution": long_res,
        "long_at": np.where(np.isfinite(long_at), long_at, np.nan),
        "handoff": n_handoff > 0,
        "handoff_tickets": n_handoff,
        "app_affinity": cu.aff,
        "purchases_per_week": cu.lam * 7 * DAY,
        "dropout_p": cu.pdrop,
        "purchase_dormant_at": np.where(dormant < np.minimum(churn_at, t1), dormant, np.nan),
        "spend_mean": cu.spend,
    }


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
