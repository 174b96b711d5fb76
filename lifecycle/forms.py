from django import forms

from lifecycle.retention import RETENTION_DAYS_MAX


def _days_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=1,
        max_value=RETENTION_DAYS_MAX,
        help_text="Days. Leave empty to keep them forever.",
        error_messages={
            "invalid": "Give a whole number of days, or leave it empty to keep them forever.",
            "min_value": "Keep them at least 1 day, or leave it empty to keep them forever.",
            "max_value": (
                f"Give at most {RETENTION_DAYS_MAX} days, or leave it empty to keep them forever."
            ),
        },
    )


class RetentionForm(forms.Form):
    conversation_days = _days_field("Keep conversations for")
    feedback_days = _days_field("Keep answer feedback for")


class DeletionForm(forms.Form):
    confirmation = forms.CharField(
        label="Type the organization's address to confirm", max_length=60, strip=True
    )
    code = forms.CharField(
        label="Code from your authenticator app", max_length=10, required=False, strip=True
    )
