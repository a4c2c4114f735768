"""Data shown as text in elements that render Markdown.

Streamlit renders Markdown (GitHub-flavoured, plus its own ``:color[…]``, ``:material/…:``, ``$…$`` LaTeX) in
``st.markdown``, ``st.caption``, titles and headers, alerts, toasts, metric labels, values and deltas, widget,
tab, expander and page-link labels, and every ``help`` tooltip (a selectbox's options are plain text, a
radio's are Markdown). A name that came from the database or an upload must never become markup there: an
indicator called ``![x](http://…)`` would make every reader's browser fetch that address.

Rule: every value that is data goes through :func:`md_escape` (or :func:`md_code` inside a code span) where it
is put into such an element, including the ``{fields}`` of a translated text (the catalogue text itself is
ours and may keep its Markdown). Dataframes show text as text and need nothing; plotly charts escape their own
labels (:mod:`sac.charts`).

What escaping cannot reach, because Streamlit does it to the text after parsing: ``->`` and ``--`` read as
arrows and dashes, ``:streamlit:`` as Streamlit's logo (an inline image from the page itself), and an emoji
shortcode such as ``:+1:`` becomes its emoji when the same element also holds an unescaped one. None of these
makes a link, a request to another address or a style.
"""

from __future__ import annotations

import re

# Escaped wherever they stand: emphasis and strikethrough (* ~), links and images ([ ]), code spans (`), raw
# HTML and autolinks (< >), entities (&), Streamlit directives, emoji shortcodes and material icons, and the
# scheme of a bare URL (:), LaTeX ($), tables (|), directive attributes ({ }), e-mail autolinks (@), and the
# backslash itself. Every one is ASCII punctuation, which CommonMark lets a backslash escape.
_ALWAYS = re.compile(r"([\\`*\[\]<>~&:$|{}@])")
# Underscores emphasise only at a word's edge: a run between two letters or digits (WEAR_UTIL) is left as it is.
_UNDERSCORES = re.compile(r"_+")
# Block syntax counts only at the start of a line, and a value is put on a line of its own at most at its start
# (line breaks inside a value are folded to spaces): a heading (#), list item (- + or "1." "1)"), setext
# underline (=), block quote (> is escaped above).
_LEADING = re.compile(r"^(\s*)([#+\-=])")
_ORDERED = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")
_WWW = re.compile(r"(?i)\b(www)\.")   # a GFM autolink without a scheme: www.example.com
_NEWLINES = re.compile(r"[\r\n\u2028\u2029]+")


def _underscores(m: re.Match) -> str:
    s, i, j = m.string, m.start(), m.end()
    inside_word = i > 0 and j < len(s) and s[i - 1].isalnum() and s[j].isalnum()
    return m.group() if inside_word else "\\_" * (j - i)


def md_escape(value) -> str:
    """``value`` as text that Markdown shows literally: ``'**x**'`` → ``'\\*\\*x\\*\\*'`` (reads ``**x**``).

    Missing (None) is the empty string; anything else goes through ``str``. Characters that mean nothing to
    Markdown are left alone, so ordinary names (``г. Алматы``, ``Almaty office (demo)``, ``2030-Q3``) come out
    unchanged.
    """
    if value is None:
        return ""
    s = _NEWLINES.sub(" ", str(value))
    s = _ALWAYS.sub(r"\\\1", s)
    s = _UNDERSCORES.sub(_underscores, s)
    s = _WWW.sub(r"\1\\.", s)
    # Streamlit rewrites ":material/" in the raw source before parsing; an escaped slash keeps the text as written
    s = s.replace("\\:material/", "\\:material\\/")
    s = _LEADING.sub(r"\1\\\2", s)
    return _ORDERED.sub(r"\1\\\2", s)


def md_code(value) -> str:
    """``value`` as an inline code span (monospace, shown verbatim), whatever backticks it holds."""
    s = _NEWLINES.sub(" ", "" if value is None else str(value))
    fence = "`" * (max((len(m) for m in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ") and s.strip()) else ""
    return f"{fence}{pad}{s}{pad}{fence}"


_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def md_unescape(text: str) -> str:
    """What a reader sees of escaped text: backslash escapes of ASCII punctuation removed (the inverse of
    :func:`md_escape` for a value without line breaks)."""
    return _UNESCAPE.sub(r"\1", text)
