from django import template

from workspaces.ingestion.parsing import readable_formats_listed

register = template.Library()


@register.simple_tag
def readable_formats() -> str:
    """The formats ingestion reads, for pages that tell people what they may upload."""
    return readable_formats_listed(conjunction="and")
