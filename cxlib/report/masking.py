"""Personal data in rendered pages: masking in every shown text, and the final scan of a finished page
(a page that still shows any is refused).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]*)*")


_CUSTOMER_ID = re.compile(r"\bC\d{7}\b")


# Phone numbers in their usual written shapes only: international (+44 20 7946 0958,
# +4915112345678), a bracketed area code ((555) 123-4567), North American 555-123-4567 and
# national numbers with a trunk 0 (020 7946 0958, 07700900123). Separators are one space, dot
# or dash (North American: dot or dash), never a line break, so figures in a table or an axis (0.12345678, 140 / 160 / 180)
# are not phone numbers; fewer than 9 digits never are.
_PHONE = re.compile(
    r"(?<![\w.+])(?:"
    r"\+\d{8,14}"
    r"|\+\d{1,3}[ .-]?(?:\(\d{1,5}\)[ .-]?)?\d{1,5}(?:[ .-]\d{2,5}){0,4}"
    r"|\(\d{2,5}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"
    r"|\d{3}[.-]\d{3}[.-]\d{4}"
    r"|0\d{2,4}[ .-]?\d{3,4}[ .-]?\d{3,4}"
    r")(?![\w.]\d|\w)"
)


_NAME_INTRO = re.compile(
    r"\b((?i:my name is|my name's|i am|i'm|regards,?|thanks,?|cheers,?|kind regards,?)\s+)"
    r"([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
)


def _phone(m: re.Match) -> str:
    # Fewer than 9 digits is a date (15.01.2024) or a figure, not a phone number.
    return "[phone]" if sum(c.isdigit() for c in m.group(0)) >= 9 else m.group(0)


def mask_text(text: str) -> str:
    """Mask e-mails, phone numbers, customer ids and introduced names in free text."""
    text = _EMAIL.sub("[email]", text)
    text = _CUSTOMER_ID.sub("[customer]", text)
    text = _PHONE.sub(_phone, text)
    return _NAME_INTRO.sub(lambda m: m.group(1) + "[name]", text)


class _TextParser(HTMLParser):
    """Collects what a reader sees: text outside <style>/<script>, plus title/alt attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        self.parts += [v for k, v in attrs if k in ("title", "alt", "aria-label") and v]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """The text of an HTML page a reader can see (SVG text included), one part per line."""
    parser = _TextParser()
    parser.feed(page)
    parser.close()
    return "\n".join(parser.parts)


def find_personal_data(page: str) -> list[str]:
    """Personal data visible in an HTML page: e-mails, phone numbers, customer ids, names.

    Returns one short label per finding ('email: ann***'); empty means clean.
    """
    text = visible_text(page)
    found = [f"email: {m.group(0)[:3]}***" for m in _EMAIL.finditer(text)]
    found += [f"customer id: {m.group(0)[:3]}***" for m in _CUSTOMER_ID.finditer(text)]
    found += [f"phone: {m.group(0)[:3]}***" for m in _PHONE.finditer(text) if _phone(m) == "[phone]"]
    found += [f"name: {m.group(1).strip()} {m.group(2)[:1]}***" for m in _NAME_INTRO.finditer(text)]
    return found
