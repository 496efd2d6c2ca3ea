from django import template
from django.utils.html import format_html

from accounts.appearance import theme_of

register = template.Library()


@register.simple_tag(takes_context=True)
def theme_attribute(context) -> str:
    """`` data-theme="dark"`` for ``<html>`` when this browser chose a theme; nothing for the system's."""
    theme = theme_of(context.get("request"))
    return "" if theme == "system" else format_html(' data-theme="{}"', theme)
