"""Make untrusted HTML and SVG inert: an allowlist sanitizer (bleach) for every fragment a notebook
produced, an SVG cleaner for drawn charts, and a scan for anything that would load from outside the page.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from cxlib.errors import CxDataError
from cxlib.privacy.masking import Masker, default_masker

_SOURCE_ATTRS = {"src", "href", "xlink:href", "srcset", "poster", "data", "action", "formaction", "background"}


_LOCAL = re.compile(r"^\s*(?:data:|#|$)", re.IGNORECASE)


_CSS_SOURCE = re.compile(r"@import|url\(\s*[\"']?(?!\s*data:|#)", re.IGNORECASE)


class _SourceParser(HTMLParser):
    """Collects scripts and every outside source a page would load (links to click are fine)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._style = 0

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.found.append(f"<script {dict(attrs).get('src', '')}>")
        if tag == "style":
            self._style += 1
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            elif name in _SOURCE_ATTRS and not _LOCAL.match(value) and not (tag == "a" and name == "href"
                                                                             and not value.lower().lstrip().startswith("javascript:")):
                self.found.append(f"<{tag} {name}={value[:60]}>")
            elif name == "style" and _CSS_SOURCE.search(value):
                self.found.append(f"<{tag} style={value[:60]}>")

    def handle_endtag(self, tag):
        if tag == "style":
            self._style = max(0, self._style - 1)

    def handle_data(self, data):
        if self._style and _CSS_SOURCE.search(data):
            self.found.append(f"<style>{data.strip()[:60]}")


def find_external_sources(page: str) -> list[str]:
    """Scripts, event handlers and outside sources (script, style, image, frame) in an HTML page.

    Empty means the page runs no script and loads nothing from outside itself. Ordinary links
    (``<a href="https://...">``) are allowed; ``javascript:`` links are not. Text is ignored.
    """
    parser = _SourceParser()
    parser.feed(page)
    parser.close()
    return parser.found


_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "samp", "small", "span", "strong", "style", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
}


_GLOBAL_ATTRS = {"class", "id", "title", "style", "align", "colspan", "rowspan", "scope", "lang", "dir"}


_CSS_PROPERTIES = [
    "color", "background-color", "text-align", "font-weight", "font-style", "font-size", "font-family",
    "width", "min-width", "max-width", "height", "min-height", "max-height", "border", "border-top",
    "border-bottom", "border-left", "border-right", "border-color", "border-width", "border-style",
    "border-collapse", "border-spacing", "padding", "padding-top", "padding-bottom", "padding-left",
    "padding-right", "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
    "white-space", "vertical-align", "display", "text-decoration", "opacity", "overflow", "word-break",
]


_UNSAFE_CSS = re.compile(r"url\s*\(|@import|expression\s*\(|behavior\s*:|-moz-binding|</", re.IGNORECASE)


_SAFE_IMG = re.compile(r"^data:image/(?:png|jpeg|gif|webp|svg\+xml);base64,", re.IGNORECASE)


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name.lower().startswith("on"):
        return False
    if tag == "img":
        return name in {"alt", "width", "height", "class", "title"} or (name == "src" and bool(_SAFE_IMG.match(value)))
    if tag == "a" and name == "href":
        return value.startswith(("#", "https://", "http://"))
    if tag == "ol" and name == "start":
        return True
    if tag == "style" and name == "type":
        return True
    return name in _GLOBAL_ATTRS


def _cleaner(masker: Masker):
    import bleach
    from bleach import html5lib_shim
    from bleach.css_sanitizer import CSSSanitizer

    class MaskFilter(html5lib_shim.Filter):
        """Masks personal data in text and titles; empties <style> blocks that load anything."""

        def __iter__(self):
            in_style = 0
            for token in super().__iter__():
                kind = token["type"]
                if kind == "StartTag" and token["name"] == "style":
                    in_style += 1
                elif kind == "EndTag" and token["name"] == "style":
                    in_style = max(0, in_style - 1)
                elif kind in ("Characters", "SpaceCharacters"):
                    if in_style:
                        if _UNSAFE_CSS.search(token["data"]):
                            token = {**token, "data": ""}
                    else:
                        token = {**token, "data": masker.mask(token["data"])}
                if kind in ("StartTag", "EmptyTag") and token.get("data"):
                    token = {**token, "data": {k: (masker.mask(v) if k[1] in ("title", "alt", "aria-label") else v)
                                               for k, v in token["data"].items()}}
                yield token

    return bleach.sanitizer.Cleaner(
        tags=_TAGS,
        attributes=_allowed_attribute,
        protocols={"http", "https", "data"},  # data: only passes for <img> (see _allowed_attribute)
        strip=False,  # a disallowed tag is shown as text, so a comment '<script>' reads as written
        strip_comments=True,
        css_sanitizer=CSSSanitizer(allowed_css_properties=_CSS_PROPERTIES),
        filters=[MaskFilter],
    )


def sanitize_html(fragment: str, masker: Masker | None = None) -> str:
    """An HTML fragment reduced to inert markup, with personal data masked in its text and titles
    (`masker`, default the store-free one)."""
    return _cleaner(masker or default_masker()).clean(fragment)


_SVG_NS = "http://www.w3.org/2000/svg"


_XLINK_NS = "http://www.w3.org/1999/xlink"


_BAD_SVG_TAGS = {"script", "foreignobject", "iframe", "object", "embed", "handler", "listener", "animate",
                 "set", "animatemotion", "animatetransform"}


def sanitize_svg(svg: str, masker: Masker | None = None) -> str:
    """An SVG document without scripts, foreign objects, event handlers or outside links, with
    personal data masked in its text (`masker`, default the store-free one)."""
    masker = masker or default_masker()
    try:
        root = ET.fromstring(svg.encode("utf-8") if isinstance(svg, str) else svg)
    except ET.ParseError as exc:
        raise CxDataError(f"a chart's SVG could not be read: {exc}") from None

    def local(name: str) -> str:
        return name.rsplit("}", 1)[-1].lower()

    for parent in root.iter():
        for child in list(parent):
            if local(child.tag) in _BAD_SVG_TAGS:
                parent.remove(child)
            elif local(child.tag) == "style" and _UNSAFE_CSS.search(child.text or ""):
                child.text = ""
    for el in root.iter():
        for attr in list(el.attrib):
            name, value = local(attr), el.attrib[attr]
            if name.startswith("on"):
                del el.attrib[attr]
            elif name == "href" and not (value.startswith("#") or _SAFE_IMG.match(value)):
                del el.attrib[attr]
            elif name == "style" and _UNSAFE_CSS.search(value):
                del el.attrib[attr]
            elif _UNSAFE_CSS.search(value) and "url(" in value.replace(" ", "").lower() and "url(#" not in value:
                del el.attrib[attr]
        if el.text and el.text.strip() and local(el.tag) not in ("style", "script"):
            el.text = masker.mask(el.text)
        if el.tail and el.tail.strip():
            el.tail = masker.mask(el.tail)
        for attr in ("title", "aria-label", "alt"):
            if el.attrib.get(attr):
                el.attrib[attr] = masker.mask(el.attrib[attr])
    return ET.tostring(root, encoding="unicode")
