from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet

from workspaces.models import Workspace


class QuestionForm(forms.Form):
    question = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), strip=True)
    scope = forms.ModelMultipleChoiceField(
        queryset=Workspace.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, workspaces: QuerySet[Workspace], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].queryset = workspaces  # type: ignore[attr-defined]

    def clean_question(self) -> str:
        question = str(self.cleaned_data["question"])
        limit = settings.ASSISTANT_MAX_QUESTION_CHARS
        if len(question) > limit:
            raise forms.ValidationError(
                f"Questions are limited to {limit:,} characters; this one has "
                f"{len(question):,}. Shorten it and ask again."
            )
        return question


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(choices=[("1", "up"), ("-1", "down")], coerce=int)
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


class RenameForm(forms.Form):
    title = forms.CharField(max_length=200)
