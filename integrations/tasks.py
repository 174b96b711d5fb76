"""The Slack app's work, queued by the events endpoint (integrations.slack_app) on the
default queue, in the organization's schema (tenant-schemas-celery)."""

from typing import Any

from celery import shared_task

from integrations.asking import (
    SlackFeedback,
    SlackQuestion,
    slack_feedback_record,
    slack_question_answer,
)


@shared_task(acks_late=False)
def slack_question_task(question: dict[str, Any]) -> None:
    # Not acks_late: a worker dying mid-answer must not answer a second time (the question
    # was counted and "Thinking…" posted); the asker asks again.
    slack_question_answer(question=SlackQuestion(**question))


@shared_task(acks_late=False)
def slack_feedback_task(feedback: dict[str, Any]) -> None:
    slack_feedback_record(feedback=SlackFeedback(**feedback))
