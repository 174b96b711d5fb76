from allauth.account.models import EmailAddress
from django import template

from accounts.models import User
from members.selectors import email_address_unverified

register = template.Library()


@register.simple_tag
def unverified_email_address(user: User) -> EmailAddress | None:
    return email_address_unverified(user=user)
