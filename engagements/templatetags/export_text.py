"""Filters of the file exports: user text in a Markdown download stays text."""

from django import template

from outsourcing.exports import markdown_text

register = template.Library()


@register.filter
def md(value) -> str:
    """Literal Markdown text (a paragraph: line breaks kept)."""
    return markdown_text(value)


@register.filter
def md_inline(value) -> str:
    """Literal Markdown text on one line (a heading, a list item, a table cell)."""
    return markdown_text(value, inline=True)
