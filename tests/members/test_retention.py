"""Retention: an owner sets how long conversations and feedback are kept on Members -> Data;
the daily run deletes what is older in every organization, says so in the audit log, and the
page says when the next run is."""

from datetime import UTC, datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from assistant.models import Conversation, Feedback, Message, MessageRole
from audit.models import AuditAction, AuditEvent
from lifecycle.models import RetentionPolicy
from lifecycle.retention import retention_apply_all, retention_next_run, retention_policy_set
from tests.conftest import signed_in
from tests.factories import make_member


def _conversation(user, *, days_old: int, feedback: bool = False) -> Conversation:
    conversation = Conversation.objects.create(user=user, title=f"{days_old} days old")
    Message.objects.create(conversation=conversation, role=MessageRole.USER, text="Question?")
    answer = Message.objects.create(
        conversation=conversation, role=MessageRole.ASSISTANT, text="Answer."
    )
    if feedback:
        Feedback.objects.create(message=answer, user=user, rating=1)
    moment = timezone.now() - timedelta(days=days_old)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=moment)
    Feedback.objects.filter(message=answer).update(updated_at=moment, created_at=moment)
    return conversation


def test_daily_run_deletes_conversations_and_feedback_past_the_policy(org_a, owner_a):
    old = _conversation(owner_a, days_old=40, feedback=True)
    recent = _conversation(owner_a, days_old=10, feedback=True)
    retention_policy_set(actor=owner_a, conversation_days=30, feedback_days=5)

    outcome = retention_apply_all()

    assert outcome.conversations == 1
    assert not Conversation.objects.filter(pk=old.pk).exists()
    assert Conversation.objects.filter(pk=recent.pk).exists()
    # The recent conversation stays, its 10-day-old feedback is past 5 days.
    assert Feedback.objects.count() == 0
    assert outcome.feedback == 2
    event = AuditEvent.objects.get(action=AuditAction.RETENTION_APPLIED)
    assert event.details == {"conversations": 1, "feedback": 2}
    assert event.actor is None
    policy = RetentionPolicy.objects.get()
    assert policy.last_run_conversations == 1


def test_forever_keeps_everything(org_a, owner_a):
    _conversation(owner_a, days_old=4000, feedback=True)
    retention_policy_set(actor=owner_a, conversation_days=None, feedback_days=None)

    retention_apply_all()

    assert Conversation.objects.count() == 1
    assert Feedback.objects.count() == 1


def test_owner_sets_retention_and_the_page_says_when_the_next_run_is(org_a, owner_a):
    client = signed_in(org_a, owner_a)

    response = client.post(
        reverse("lifecycle:retention"), {"conversation_days": "90", "feedback_days": ""}
    )
    assert response.status_code == 302
    page = client.get(reverse("lifecycle:data"))

    assert RetentionPolicy.objects.get().conversation_days == 90
    assert RetentionPolicy.objects.get().feedback_days is None
    text = page.content.decode()
    assert "deleted 90 days after their last question" in text
    assert "Answer feedback: kept forever" in text
    assert retention_next_run().strftime("%-d %b %Y, %H:%M UTC") in text
    event = AuditEvent.objects.get(action=AuditAction.RETENTION_CHANGED)
    assert event.details["after"] == {"conversation_days": 90, "feedback_days": None}


def test_bad_number_of_days_is_a_400_with_a_sentence(org_a, owner_a):
    client = signed_in(org_a, owner_a)

    response = client.post(reverse("lifecycle:retention"), {"conversation_days": "0"})
    also_bad = client.post(reverse("lifecycle:retention"), {"feedback_days": "a week"})

    assert response.status_code == 400
    assert "Keep them at least 1 day" in response.content.decode()
    assert also_bad.status_code == 400
    assert "Give a whole number of days" in also_bad.content.decode()
    assert not RetentionPolicy.objects.exists()


def test_admins_and_members_get_404(org_a):
    for role in ("admin", "member", "billing_admin"):
        client = signed_in(org_a, make_member(role=role))
        assert client.get(reverse("lifecycle:data")).status_code == 404
        assert client.post(reverse("lifecycle:retention"), {}).status_code == 404


def test_posting_without_csrf_token_is_refused(org_a, owner_a):
    client = signed_in(org_a, owner_a)
    client.handler.enforce_csrf_checks = True

    response = client.post(reverse("lifecycle:retention"), {"conversation_days": "5"})

    assert response.status_code == 403
    assert not RetentionPolicy.objects.exists()


def test_next_run_is_today_before_the_hour_and_tomorrow_after(settings):
    settings.RETENTION_RUN_HOUR = 3
    before = datetime(2026, 5, 1, 2, 59, tzinfo=UTC)
    after = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)

    assert retention_next_run(now=before) == datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
    assert retention_next_run(now=after) == datetime(2026, 5, 2, 3, 0, tzinfo=UTC)
