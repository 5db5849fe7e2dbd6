"""Our own stylesheets written into the page, so that its first paint waits for none.

On a 2G link a linked stylesheet costs a round trip (800 ms) and its transfer before
anything is drawn, and on a shared office computer the logout empties the cache
(khoenon.views.LogoutView), so every session starts cold. base.html's <head> wraps its
links in {% filter inline_stylesheets %}: each <link rel="stylesheet" href="…"> to one
of our static files becomes <style> with the file's text. Bootstrap trimmed to what
the pages use (tools/css, `make css`) and app.css weigh about 7 KB once gzipped with
the page, less than one round trip; a page's own sheet (report.css) adds 2 KB. The
Content Security Policy already allows inline styles (style-src 'unsafe-inline').

A link with any other attribute (media="print") or to a file we do not have stays a
link. The text is read once per process (each edit shows at once under DEBUG).
"""

import functools
import re
from pathlib import Path

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils.safestring import mark_safe

register = template.Library()

LINK = re.compile(r'<link rel="stylesheet" href="([^"]+\.css)">')


@register.filter(is_safe=True)
def inline_stylesheets(html):
    """The fragment with each link to one of our stylesheets replaced by its text."""
    return mark_safe(LINK.sub(_inlined, str(html)))


def _inlined(match):
    text = stylesheet_text(match[1])
    if text is None:
        return match[0]
    return f"<style>{text}</style>"


def stylesheet_text(url):
    """The text of the static stylesheet at `url`, or None when it is not ours."""
    reader = _read if settings.DEBUG else _read_once
    return reader(url)


def _read(url):
    prefix = settings.STATIC_URL  # "/static/"
    if not url.startswith(prefix) or ".." in url:
        return None
    name = url.removeprefix(prefix)
    # The source file (development, tests), else collectstatic's copy under its
    # hashed name (production).
    path = finders.find(name)
    if path is None and staticfiles_storage.exists(name):
        path = staticfiles_storage.path(name)
    if path is None:
        return None
    text = Path(path).read_text(encoding="utf-8")
    # "</style" inside the text would end the element early; "<\/" is the same in CSS.
    return text.replace("</", "<\\/").strip()


_read_once = functools.cache(_read)
