"""Renderers of a plan document: a name -> function table, so callers pick one by `--format`.

Every renderer reads the serialized plan document (the dict of the plan file) and nothing else,
so text, Markdown and JSON cannot disagree. Each returns text ending in one newline, to be
written as is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from amlctl.errors import UsageError
from amlctl.render.json import render_json
from amlctl.render.text import render_text, use_color

Renderer = Callable[[Mapping[str, Any], bool], str]


def _markdown(doc: Mapping[str, Any], color: bool) -> str:
    # jinja2 is imported only for a Markdown rendering: a third of a plan's render imports.
    from amlctl.render.markdown import render_markdown

    return render_markdown(doc)


RENDERERS: dict[str, Renderer] = {
    "text": lambda doc, color: render_text(doc, color=color),
    "markdown": _markdown,
    "json": lambda doc, color: render_json(doc),
}

__all__ = ["RENDERERS", "get_renderer", "render", "use_color"]


def get_renderer(fmt: str) -> Renderer:
    """The renderer called `fmt`; UsageError naming the choices when there is none."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise UsageError(f"unknown format {fmt!r}: choose one of {', '.join(RENDERERS)}")
    return renderer


def render(doc: Mapping[str, Any], fmt: str, *, color: bool = False) -> str:
    """Render a plan document as `fmt` (text, markdown or json); colour applies to text only."""
    return get_renderer(fmt)(doc, color)
