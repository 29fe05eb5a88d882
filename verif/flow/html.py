"""The reports' shared HTML: the base stylesheet and the small helpers of a self-contained page
(no scripts, no external assets). Each tool adds its own status colours to :data:`BASE_CSS`."""

from __future__ import annotations

import html
import os

BASE_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0} td,th{border:1px solid #ddd;padding:3px 7px;
vertical-align:top;text-align:left} th{background:#f4f4f4}
pre{background:#f7f7f7;padding:6px;white-space:pre-wrap;word-break:break-all;margin:2px 0;font-size:12px}
code{font-size:12px} .kpi{display:inline-block;margin:6px 18px 6px 0} .kpi b{font-size:20px;display:block}
.muted{color:#777}
"""


def e(x) -> str:
    """``x`` escaped for HTML text and attributes (None: empty)."""
    return html.escape(str(x if x is not None else ""), quote=True)


def pct(x) -> str:
    """A fraction as a percentage, '-' when unknown."""
    return "-" if x is None else f"{100 * x:.1f} %"


def rel(path, base) -> str:
    """``path`` relative to ``base`` (for links inside an output directory)."""
    if not path:
        return ""
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return str(path)


def kpis(pairs, quote: str = "'") -> str:
    """A row of headline figures: [(label, value)]."""
    q = quote
    return "<div>" + "".join(f"<span class={q}kpi{q}><b>{e(v)}</b>{e(k)}</span>" for k, v in pairs) + "</div>"


def page(title: str, css: str, body: str, heading: str | None = None) -> str:
    """A complete page."""
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + e(title) + "</title>"
            f"<style>{css}</style></head><body><h1>{e(heading or title)}</h1>\n{body}\n</body></html>\n")
