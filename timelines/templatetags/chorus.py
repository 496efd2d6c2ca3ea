from django import template

register = template.Library()


@register.filter
def lookup(mapping: dict, key):
    """``{{ counts|lookup:source_id }}``: a dict value in a template, "" when missing."""
    return mapping.get(key, "") if mapping else ""
