from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from members.models import Invitation
from tenants.schemas import tenant_current


@shared_task(bind=True, acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send(self: object, invitation_id: int, accept_url: str) -> None:
    """Email an invitation. Runs in the inviting organization's schema."""
    invitation = Invitation.objects.select_related("invited_by").get(pk=invitation_id)
    context = {
        "invitation": invitation,
        "accept_url": accept_url,
        "organization": tenant_current(),
    }
    send_mail(
        subject=render_to_string("members/email/invitation_subject.txt", context).strip(),
        message=render_to_string("members/email/invitation_message.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )
