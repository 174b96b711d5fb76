from django import forms
from django.db.models import QuerySet

from workspaces.models import Workspace


class SlackWorkspacesForm(forms.Form):
    """Which workspaces the Slack app may search (each asker: the part they may read)."""

    workspaces = forms.ModelMultipleChoiceField(
        queryset=Workspace.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one workspace: with none the app can answer nothing."
        },
    )

    def __init__(self, *args: object, workspaces: QuerySet[Workspace], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["workspaces"].queryset = workspaces  # type: ignore[attr-defined]
