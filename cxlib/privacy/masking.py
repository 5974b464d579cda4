"""One masker for personal data, used everywhere something is shown to anyone but an analyst:
quotes and follow-up comments (analysis), every text and chart string of a rendered report, the
run's one-line reasons, and the final scan of a finished page (which refuses to publish on any hit).

What it finds (`Masker.find`), each replaced by a label (`Masker.mask`):

* ``[email]``: e-mail addresses (also cut short, ``anna@exam...``, and written ``anna (at) x (dot) com``).
* ``[phone]``: phone numbers found by the ``phonenumbers`` library over the likely regions
  (`REGIONS`): numbers valid for a region, and numbers in a written phone shape (``+`` and a
  country code, ``(555) 123-4567``, ``555-123-4567``, a trunk ``0`` and groups) that the library
  calls possible but not assigned (the fictional ``+44 7700 900123``). Not phones: figures with a
  decimal point (``0.12345678``), dates, a bare run of digits without ``+`` or trunk ``0``
  (``912345678``: a figure as much as a number), fewer than 9 digits in a written shape.
* ``[iban]``: IBANs of any country, with or without spaces, that pass the mod-97 checksum.
* ``[id]``: identifier shapes without a store: 1-8 letters, an optional ``-``/``_``/``#`` and at
  least 5 digits (``C0001234``, ``CUST-000123``, ``ORD#123456``), or ``\\d+-[A-Z]{4,}`` (``7590-VHVEG``);
  not a hex colour after ``#`` (``#b35806``).
* ``[name]``: introduced names, in English, German, French, Spanish and Dutch: "my name is",
  "ich heiße/heisse", "mein Name ist", "je m'appelle", "mon nom est", "me llamo", "mi nombre es",
  "mijn naam is", "ik heet" (the next word whatever its case, then capitalised words); "I am",
  "ich bin", "je suis", "soy", "ik ben", titles (Mr, Frau, Madame, Señora, mevrouw, ...),
  greetings ("Dear", "Hallo", "Bonjour", "Hola") and sign-offs ("Regards,", "Kind regards",
  "Mit freundlichen Grüßen", "Cordialement", "Saludos", "Met vriendelijke groet", "Thanks,", ...)
  followed by a capitalised word (an all-capitals word such as NPS is not a name).
* With a store (`Masker.from_store`): ``[customer]`` for every ``customer_id``, ``[agent]`` for
  every ``agent_id`` of tickets, ``[personal]`` for every value of a personal customer column
  (`personal_columns`: the store's declared ones, table ``personal_columns``, set with
  ``cx ingest customers FILE --personal name,email``, plus the usual names such as ``name`` and
  ``email``, plus any passed), wherever they appear in text (case-insensitive, as whole words; a
  value of several words matches with any short separator between them).

Limits, by design: a store identifier that cannot be told from a figure or a word is not looked
for in free text (fewer than 4 characters, or only digits and fewer than 6 of them, or a
placeholder such as ``unknown``); `mask_frame` still masks whole columns named after an
identifier or a personal column. Names without an introduction are not found (no name list).
A capitalised word after "I am" is taken for a name ("I am Happy").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from cxlib.sql import has_table, table_columns

# Regions whose national numbers are looked for (international numbers, with + or 00, are found
# whatever the region): the countries of the languages the text module reads, and neighbours.
REGIONS = ("GB", "IE", "US", "DE", "AT", "CH", "FR", "BE", "ES", "NL", "IT")

LABELS = {"email": "[email]", "phone": "[phone]", "iban": "[iban]", "id": "[id]", "name": "[name]",
          "customer": "[customer]", "agent": "[agent]", "personal": "[personal]"}

# Customer columns that are personal whatever the store declares.
USUAL_PERSONAL_COLUMNS = frozenset({
    "name", "full_name", "first_name", "last_name", "surname", "given_name", "family_name", "customer_name",
    "contact_name", "email", "e_mail", "email_address", "mail", "phone", "phone_number", "mobile", "telephone",
    "tel", "iban", "bank_account", "address", "street", "street_address", "date_of_birth", "birth_date", "dob",
    "birthday", "passport", "ssn", "national_id", "tax_id",
})

# Values of a personal column that identify nobody (left alone in text).
_PLACEHOLDERS = frozenset({"none", "null", "nan", "n/a", "na", "unknown", "not given", "not known", "anonymous",
                           "redacted", "tbd", "missing", "empty", "other", "true", "false", "yes", "no"})

_EMAIL = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]*)*"
    r"|[\w.+-]+\s*(?:\(at\)|\[at\]|\{at\}|\sat\s)\s*[\w-]+\s*(?:\(dot\)|\[dot\]|\{dot\}|\sdot\s)\s*[A-Za-z]{2,}"
)

_ID = re.compile(r"(?<![^\W_])(?:[A-Za-z]{1,8}[-_#]?\d{5,}|\d{3,}-[A-Z]{4,})(?![^\W_])")

_HEX_COLOUR = re.compile(r"[0-9a-fA-F]{6}|[0-9a-fA-F]{8}")  # '#b35806' in a chart spec is a colour, not an id

_IBAN_START = re.compile(r"(?<![^\W_])[A-Za-z]{2}\d{2}(?=[ -]?[A-Za-z0-9])")

# IBAN lengths by country (ISO 13616 registry); other country codes are tried at every length 15-34.
_IBAN_LENGTH = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}

# Written phone shapes, for numbers the library calls possible but not valid (unassigned or
# fictional ranges: +44 7700 900123, (555) 123-4567): international with + or 00, a bracketed
# area code, North American with dots or dashes, national with a trunk 0. A separator is one
# space, dot, dash or slash, never a line break (figures in a column or an axis are not phones).
_PHONE_SHAPE = re.compile(
    r"(?<![\w.+/])(?:"
    r"(?:\+|00)\d{1,3}[ .-]?(?:\(0?\d{0,5}\)[ .-]?)?\d{1,8}(?:[ ./-]\d{1,8}){0,5}"
    r"|\+\d{8,14}"
    r"|\(\d{2,5}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"
    r"|\d{3}[.-]\d{3}[.-]\d{4}"
    r"|0\d{1,4}[ ./-]?\d{2,8}(?:[ ./-]\d{2,8}){0,3}"
    r")(?![\w])"
)
_DECIMAL = re.compile(r"^(?:0|[1-9]\d*)[.,]\d+$")  # 0.12345678, not 030.1234567
_GROUP_END = re.compile(r"\d(?=[ ./-]|$)")
# Figures that are never part of a phone number: fractions (0.656153480102, not 030.1234567 or
# 555.123.4567) and ISO dates with times. Removed before the quick check for nine digits.
_NO_PHONE = re.compile(r"(?<![\d.])(?:0|[1-9]\d*)\.\d{4,}(?![\d.])|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?")
_NINE_DIGITS = re.compile(r"\d(?:[ \t().\-/]{0,4}\d){8}")  # no phone number has fewer
_DATE = re.compile(r"^(?:\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})(?!\d)")
# Regions whose national numbers are written without a trunk 0 (elsewhere a national number
# must start with it: '020 7946 0958', not '5698 7654 33').
_NO_TRUNK = frozenset({"US", "CA", "ES", "IT", "PT", "GR", "DK", "NO", "LU"})

_NAME_WORD = r"[^\W\d_](?:[^\W\d_]|['’-][^\W\d_])*"
_PARTICLE = r"(?:van|von|der|den|de|del|della|di|da|du|la|le|ter|ten|zu|dos|das|y)"
_A = r"['’]"
# The next word is a name whatever its case.
_STRONG = [
    r"my name is", rf"my name{_A}s", r"name\s*:(?![^\n]*dtype:)", r"ich hei(?:ß|ss|s)e", r"mein name ist", r"ich nenne mich",
    rf"je m{_A}appelle", r"mon nom est", r"je me nomme", r"nom\s*:", r"me llamo", r"mi nombre es", r"nombre\s*:",
    r"mijn naam is", r"ik heet", r"naam\s*:",
]
# A capitalised word that follows is a name.
_WEAK = [  # longer first: "Liebe Grüße, Anna" is a sign-off, not "Liebe" greeting "Grüße"
    r"mit freundlichen gr(?:ü|ue|u)(?:ß|ss)en", r"(?:viele|liebe|beste|herzliche|freundliche) gr(?:ü|ue|u)(?:ß|ss)e",
    r"gr(?:ü|ue|u)(?:ß|ss)e", r"gru(?:ß|ss)", r"mfg", r"vielen dank", r"danke",
    r"(?:kind |best |warm |warmest |many )?regards", r"best wishes", r"best(?=[ \t]*,)", r"many thanks",
    r"thank you", r"thanks", r"cheers", r"sincerely", r"yours(?: sincerely| truly| faithfully)?",
    r"(?:bien )?cordialement", r"bien à vous", r"salutations", r"merci(?: beaucoup)?", r"amicalement", r"bisous",
    r"(?:un )?saludos?", r"atentamente", r"(?:muchas )?gracias", r"cordialmente", r"un abrazo",
    r"(?:met )?vriendelijke groet(?:en)?", r"hartelijke groet(?:en)?", r"groet(?:en|jes)", r"mvg", r"bedankt",
    r"dank je(?:wel)?", r"dank u(?:wel)?",
    r"i am", rf"i{_A}m", r"call me", r"ich bin", r"je suis", rf"moi c{_A}est", r"soy", r"ik ben",
    r"mr\.?", r"mrs\.?", r"ms\.?", r"dr\.?", r"herr", r"frau", r"monsieur", r"madame", r"mme\.?",
    r"mademoiselle", r"señor", r"señora", r"sr\.", r"sra\.", r"meneer", r"mevrouw", r"dhr\.", r"mevr\.",
    r"dear", r"hi", r"hello", r"hallo", r"liebe", r"lieber", r"bonjour", r"cher", r"chère", r"hola",
    r"estimad[oa]", r"geachte",
]
_NAME = re.compile(
    r"(?<![^\W_])(?i:(?P<strong>" + "|".join(_STRONG) + r")|(?P<weak>" + "|".join(_WEAK) + r"))"
    r"(?P<sep>[ \t]*[,:;!–—-]?[ \t]*(?:\r?\n[ \t]*)?)"
    # a lookahead: the words are not consumed, so 'Thanks, my name is Anna' still finds 'my name is'
    rf"(?=(?P<name>{_NAME_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,2}}{_NAME_WORD}){{0,2}}))"
)
_WORD = re.compile(_NAME_WORD)
_CUE_WORD = re.compile(r"(?i:" + "|".join(_STRONG + _WEAK) + r")")  # 'Grüße' in 'Liebe Grüße' is no name
_PARTICLE_WORD = re.compile(rf"(?i:{_PARTICLE})$")

_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data in a text: its kind (a key of LABELS) and where it is."""

    kind: str
    start: int
    end: int
    text: str

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    def short(self) -> str:
        """'email: ann***': what a refusal may say about it without repeating it."""
        return f"{self.kind}: {self.text[:3]}***"


# --------------------------------------------------------------------------- detectors without a store


def _emails(text: str) -> list[Finding]:
    if "@" not in text and not re.search(r"(?i)\bat\b|\(at\)|\[at\]", text):
        return []
    return [Finding("email", m.start(), m.end(), m.group(0)) for m in _EMAIL.finditer(text)]


def _ids(text: str) -> list[Finding]:
    return [Finding("id", m.start(), m.end(), m.group(0)) for m in _ID.finditer(text)
            if not (m.start() and text[m.start() - 1] == "#" and _HEX_COLOUR.fullmatch(m.group(0)))]


def _iban_ok(compact: str) -> bool:
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def _ibans(text: str) -> list[Finding]:
    found = []
    for m in _IBAN_START.finditer(text):
        chars: list[int] = []  # positions of the IBAN's characters in text
        i = m.start()
        while i < len(text) and len(chars) < 34:
            if text[i].isascii() and text[i].isalnum():
                chars.append(i)
                i += 1
            elif text[i] in " -" and i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalnum() and chars:
                i += 1
            else:
                break
        compact = "".join(text[p] for p in chars).upper()
        country = compact[:2]
        lengths = [_IBAN_LENGTH[country]] if country in _IBAN_LENGTH else range(34, 14, -1)
        for n in lengths:
            if len(compact) < n or not compact[2:4].isdigit():
                continue
            end = chars[n - 1] + 1
            if end < len(text) and text[end].isalnum():
                continue  # the IBAN would end inside a word
            if _iban_ok(compact[:n]):
                found.append(Finding("iban", m.start(), end, text[m.start():end]))
                break
    return found


def _part_of_figure(text: str, start: int, end: int) -> bool:
    before, after = text[max(0, start - 2):start], text[end:end + 2]
    return bool(re.search(r"\d[.,:]$", before) or re.match(r"^[.,:]\d", after))


def _not_a_phone(text: str, start: int, end: int) -> bool:
    """Too few digits, a date, a decimal figure or a part of a larger figure."""
    raw = text[start:end]
    return (sum(c.isdigit() for c in raw) < 9 or bool(_DATE.match(raw)) or bool(_DECIMAL.match(raw))
            or _part_of_figure(text, start, end))


def _valid_phones(text: str, regions: tuple[str, ...]) -> dict[tuple[int, int], Finding]:
    """Numbers the library finds valid for a region ('020 7946 0958' in GB, '612 345 678' in ES)."""
    from phonenumbers import Leniency, PhoneNumberMatcher

    found: dict[tuple[int, int], Finding] = {}
    for region in regions:
        for m in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
            raw = m.raw_string
            if (m.start, m.end) in found or _not_a_phone(text, m.start, m.end):
                continue
            international = raw.startswith(("+", "00", "(+"))
            trunk = raw.lstrip("(").startswith("0")
            if international or trunk or (region in _NO_TRUNK and not raw.isdigit()):
                # not '5698 7654 33' (no number in GB without its trunk 0); a bare run of digits is a figure
                found[(m.start, m.end)] = Finding("phone", m.start, m.end, raw)
    return found


def _shaped_phones(text: str, regions: tuple[str, ...]) -> dict[tuple[int, int], Finding]:
    """Numbers in a written phone shape that the library calls possible: the longest such prefix
    of each shape ('+44 7700 900123' in '+44 7700 900123 42')."""
    import phonenumbers

    found: dict[tuple[int, int], Finding] = {}
    for m in _PHONE_SHAPE.finditer(text):
        ends = [m.start() + g.end() for g in _GROUP_END.finditer(m.group(0))]
        for end in reversed(ends):
            if _not_a_phone(text, m.start(), end):
                continue
            raw = text[m.start():end]
            for region in regions:
                try:
                    number = phonenumbers.parse(raw, region)
                except phonenumbers.NumberParseException:
                    break
                if phonenumbers.is_possible_number(number):
                    found[(m.start(), end)] = Finding("phone", m.start(), end, raw)
                    break
            if (m.start(), end) in found:
                break
    return found


def _phones(text: str, regions: tuple[str, ...]) -> list[Finding]:
    if not _NINE_DIGITS.search(_NO_PHONE.sub(" ", text)):  # quick: most texts of a report have none
        return []
    return list({**_shaped_phones(text, regions), **_valid_phones(text, regions)}.values())


def _names(text: str) -> list[Finding]:
    found = []
    for m in _NAME.finditer(text):
        kept: list[re.Match] = []
        for i, w in enumerate(_WORD.finditer(text, m.start("name"), m.end("name"))):
            word = w.group(0)
            if _CUE_WORD.fullmatch(word):
                break
            if (i == 0 and m.group("strong")) or (kept and _PARTICLE_WORD.match(word)) or word[0].isupper() and not (len(word) > 1 and word.isupper()):
                kept.append(w)
            else:
                break
        while len(kept) > 1 and _PARTICLE_WORD.match(kept[-1].group(0)):
            kept.pop()
        if kept:
            start, end = kept[0].start(), kept[-1].end()
            found.append(Finding("name", start, end, text[start:end]))
    return found


_RANK = {kind: i for i, kind in enumerate(("customer", "agent", "personal", "iban", "email", "phone", "id", "name"))}


def _merge(text: str, findings: list[Finding]) -> list[Finding]:
    """Overlapping findings become one (the longest one's kind; a store identifier before a
    shape); sorted by position."""
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -(f.end - f.start), _RANK[f.kind])):
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            if f.end > last.end:
                kind = last.kind if last.end - last.start >= f.end - f.start else f.kind
                merged[-1] = Finding(kind, last.start, f.end, text[last.start:f.end])
            continue
        merged.append(f)
    return merged


# --------------------------------------------------------------------------- the store's identifiers


def _tokens(value: str) -> tuple[str, ...]:
    return tuple(t.lower() for t in _TOKEN.findall(value))


def _searchable(value: str) -> bool:
    """An identifier that can be told from a figure or a word in free text."""
    compact = "".join(_TOKEN.findall(value))
    if len(compact) < 4 or value.strip().lower() in _PLACEHOLDERS or compact.lower() in {*LABELS, "customer"}:
        return False
    return not (compact.isdigit() and len(compact) < 6)


class _IdIndex:
    """The store's identifiers by their first word: a set lookup on each word of a text."""

    # Up to this many identifiers, one regex also finds those mixing letters and digits inside
    # longer words ('refC0001234'). Measured (2 cores): 5,000 sample ids compile in 0.12 s and
    # search 2,000 comments in 0.02 s; 20,000 compile in 0.45 s; 50,000 in 1 s.
    SMALL = 20_000

    def __init__(self, identifiers: Mapping[str, Iterable[str]]):
        self.first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self.count = 0
        self.skipped = 0
        embedded: list[tuple[str, str]] = []
        for kind, values in identifiers.items():
            for value in values:
                if value is None or (isinstance(value, float) and pd.isna(value)):
                    continue
                value = str(value).strip()
                if not _searchable(value):
                    self.skipped += 1
                    continue
                toks = _tokens(value)
                self.first.setdefault(toks[0], []).append((toks, kind))
                self.count += 1
                if len(value) >= 6 and any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
                    embedded.append((value, kind))
        for cands in self.first.values():
            cands.sort(key=lambda c: -len(c[0]))
        self.regex = None
        self.kinds: dict[str, str] = {}
        if embedded and len(embedded) <= self.SMALL:
            self.kinds = {v.lower(): k for v, k in embedded}
            alternatives = sorted({re.escape(v) for v, _ in embedded}, key=len, reverse=True)
            self.regex = re.compile("(?i)(?:" + "|".join(alternatives) + ")")

    def find(self, text: str) -> list[Finding]:
        if not self.count:
            return []
        toks = list(_TOKEN.finditer(text))
        low = [t.group(0).lower() for t in toks]
        found = []
        for i, word in enumerate(low):
            for cand, kind in self.first.get(word, ()):
                n = len(cand)
                if tuple(low[i:i + n]) != cand:
                    continue
                gaps = [text[toks[j].end():toks[j + 1].start()] for j in range(i, i + n - 1)]
                if any(len(g) > 3 or "\n" in g for g in gaps):
                    continue
                start, end = toks[i].start(), toks[i + n - 1].end()
                if cand[0].isdigit() and n == 1 and _part_of_figure(text, start, end):
                    continue
                found.append(Finding(kind, start, end, text[start:end]))
                break
        if self.regex is not None:
            found += [Finding(self.kinds[m.group(0).lower()], m.start(), m.end(), m.group(0))
                      for m in self.regex.finditer(text)]
        return found


# --------------------------------------------------------------------------- the masker


class Masker:
    """Finds and masks personal data in text and frames (see the module docstring for what).

    `identifiers` = {kind: values} with kind "customer", "agent" or "personal"; `columns` = the
    frame columns masked whole by `mask_frame` ({column name: kind}); `regions` = where national
    phone numbers are looked for. `Masker()` is the store-free masker; `Masker.from_store(con)`
    adds the store's identifiers.
    """

    def __init__(self, identifiers: Mapping[str, Iterable[str]] | None = None, *,
                 columns: Mapping[str, str] | None = None, regions: Iterable[str] = REGIONS):
        self.regions = tuple(regions)
        self._ids = _IdIndex(identifiers or {})
        self.columns = {"customer_id": "customer", "agent_id": "agent",
                        **{c: "personal" for c in USUAL_PERSONAL_COLUMNS}, **(columns or {})}

    @classmethod
    def from_store(cls, con, *, personal_columns: Iterable[str] | None = None,
                   regions: Iterable[str] = REGIONS) -> Masker:
        """A masker that also knows every customer id, agent id and value of a personal customer
        column in the store (read through `con`, read-only is enough)."""
        personal = store_personal_columns(con, personal_columns)
        ids: dict[str, list] = {
            "customer": [r[0] for r in con.execute("SELECT DISTINCT customer_id FROM customers").fetchall()],
            "agent": [],
            "personal": [],
        }
        if "agent_id" in _columns_of(con, "tickets"):
            ids["agent"] = [r[0] for r in con.execute(
                "SELECT DISTINCT agent_id FROM tickets WHERE agent_id IS NOT NULL").fetchall()]
        for column in personal:
            quoted = '"' + column.replace('"', '""') + '"'
            ids["personal"] += [r[0] for r in con.execute(
                f"SELECT DISTINCT CAST({quoted} AS VARCHAR) FROM customers WHERE {quoted} IS NOT NULL").fetchall()]
        return cls(ids, columns={c: "personal" for c in personal}, regions=regions)

    @property
    def identifiers(self) -> int:
        """How many store identifiers are looked for in text."""
        return self._ids.count

    def find(self, text: str | None) -> list[Finding]:
        """Every piece of personal data in `text`, overlaps merged, in order."""
        if not text or not isinstance(text, str):
            return []
        findings = (_emails(text) + _ibans(text) + _ids(text) + _phones(text, self.regions) + _names(text)
                    + self._ids.find(text))
        return _merge(text, findings)

    def mask(self, text):
        """`text` with each finding replaced by its label ('[email]'); None and NaN pass through."""
        if text is None or (isinstance(text, float) and pd.isna(text)):
            return text
        text = str(text)
        out, last = [], 0
        for f in self.find(text):
            out += [text[last:f.start], f.label]
            last = f.end
        return "".join(out) + text[last:]

    __call__ = mask

    def mask_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """A copy of `df` with text values masked; a column named after an identifier or a personal
        column (customer_id, agent_id, name, email, declared ones) is masked whole."""
        out = df.copy()
        out.columns = [self.mask(c) if isinstance(c, str) else c for c in out.columns]
        for i, column in enumerate(df.columns):
            kind = self.columns.get(str(column).lower()) if isinstance(column, str) else None
            series = out.iloc[:, i]
            if kind is not None:
                series = series.map(lambda v, k=kind: v if v is None or (isinstance(v, float) and pd.isna(v))
                                    else LABELS[k])
            elif series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
                series = series.map(lambda v: self.mask(v) if isinstance(v, str) else v)
            out.isetitem(i, series)
        if out.index.dtype == object:
            out.index = out.index.map(lambda v: self.mask(v) if isinstance(v, str) else v)
        return out


def _columns_of(con, table: str) -> list[str]:
    return table_columns(con, table)


def store_personal_columns(con, extra: Iterable[str] | None = None) -> list[str]:
    """The personal customer columns of a store: those declared in its ``personal_columns`` table
    (``cx ingest customers FILE --personal name,email``), those with a usual personal name
    (`USUAL_PERSONAL_COLUMNS`) and `extra`, each only when customers has it (any case)."""
    have = {c.lower(): c for c in _columns_of(con, "customers")}
    wanted = {c.lower() for c in extra or ()} | set(USUAL_PERSONAL_COLUMNS)
    if has_table(con, "personal_columns"):
        wanted |= {r[0].lower() for r in con.execute("SELECT column_name FROM personal_columns").fetchall()}
    return sorted(have[c] for c in wanted if c in have and c != "customer_id")


def declare_personal_columns(con, columns: Iterable[str]) -> list[str]:
    """Record customer columns as personal in the store (table ``personal_columns``; `con` read-write).

    Each must be a column of customers (else CxInputError, naming the columns there are).
    Returns every declared column after the change.
    """
    from cxlib.errors import CxInputError, did_you_mean

    have = {c.lower(): c for c in _columns_of(con, "customers")}
    names = [c.strip() for c in columns if c and c.strip()]
    for name in names:
        if name.lower() not in have or name.lower() == "customer_id":
            choices = sorted(set(have.values()) - {"customer_id"})
            raise CxInputError(f"--personal {name}: not a column of customers{did_you_mean(name, choices)} "
                               f"Its columns: {', '.join(choices) or '(none besides customer_id)'}")
    con.execute("CREATE TABLE IF NOT EXISTS personal_columns (column_name VARCHAR PRIMARY KEY)")
    for name in names:
        con.execute("INSERT INTO personal_columns VALUES (?) ON CONFLICT DO NOTHING", [have[name.lower()]])
    return [r[0] for r in con.execute("SELECT column_name FROM personal_columns ORDER BY column_name").fetchall()]


_DEFAULT: Masker | None = None


def default_masker() -> Masker:
    """The store-free masker (built once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Masker()
    return _DEFAULT


def mask_personal_data(text: str | None) -> str | None:
    """Mask e-mails, phone numbers, IBANs, identifier shapes and introduced names in free text
    (the store-free form of `Masker.mask`; None and NaN pass through)."""
    return default_masker().mask(text)
