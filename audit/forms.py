from typing import Any

from django import forms

from accounts.models import User
from audit.models import AuditAction
from audit.selectors import audit_actors


class AuditFilterForm(forms.Form):
    person = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Everyone",
        error_messages={"invalid_choice": "That person is not in this organization."},
    )  # fmt: skip
    action = forms.ChoiceField(
        choices=[("", "Every action"), *AuditAction.choices], required=False,
        error_messages={"invalid_choice": "That is not an action the log records."},
    )  # fmt: skip
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Give the start date as YYYY-MM-DD."},
    )  # fmt: skip
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Give the end date as YYYY-MM-DD."},
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        person = self.fields["person"]
        assert isinstance(person, forms.ModelChoiceField)
        person.queryset = audit_actors()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The start date is after the end date.")
        return data
