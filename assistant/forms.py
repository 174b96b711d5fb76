from typing import Any

from django import forms
from django.db.models import QuerySet

from workspaces.forms import RetrievalFiltersForm
from workspaces.models import Workspace


class QuestionForm(RetrievalFiltersForm):
    # Emptiness and length are the service's to refuse (assistant.conversations.question_ask),
    # with one message wherever a question comes from.
    question = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    scope = forms.ModelMultipleChoiceField(
        queryset=Workspace.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, workspaces: QuerySet[Workspace], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].queryset = workspaces  # type: ignore[attr-defined]


class QuestionEditForm(forms.Form):
    # As for QuestionForm: emptiness and length are refused by the service.
    question = forms.CharField(required=False)


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[("1", "up"), ("-1", "down")],
        coerce=int,
        error_messages={
            "required": "Choose thumbs up or thumbs down.",
            "invalid_choice": "Choose thumbs up or thumbs down.",
        },
    )
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


class RenameForm(forms.Form):
    title = forms.CharField(max_length=200)


class GapCloseForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("resolved", "Resolved"), ("dismissed", "Dismissed")],
        error_messages={
            "required": "Choose whether the gap is resolved or dismissed.",
            "invalid_choice": "Choose whether the gap is resolved or dismissed.",
        },
    )
    message = forms.TypedMultipleChoiceField(
        coerce=int,
        error_messages={"required": "Name the questions of the gap to close."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any number is a candidate; which of them the reviewer may close is the service's.
        given = self.data.getlist("message") if hasattr(self.data, "getlist") else []
        self.fields["message"].choices = [(value, value) for value in given if value.isdigit()]  # type: ignore[attr-defined]
        self.fields["message"].error_messages["invalid_choice"] = "Questions are named by number."


class ConversationSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        error_messages={"max_length": "Search for at most 200 characters."},
    )
