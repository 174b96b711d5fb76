from datetime import date, datetime, time
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from api.models import Scope
from workspaces.models import Workspace, WorkspaceRole


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, error_messages={"required": "Give the key a name, such as the tool."}
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Scope.READ],
        error_messages={"required": "Choose at least one scope."},
    )
    workspaces = forms.ModelMultipleChoiceField(
        queryset=Workspace.objects.none(), widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one workspace: a key without one can read nothing."
        },
    )  # fmt: skip
    level = forms.ChoiceField(
        label="Role on those workspaces",
        choices=[(WorkspaceRole.VIEWER, "Viewer"), (WorkspaceRole.EDITOR, "Editor")],
        initial=WorkspaceRole.VIEWER,
    )
    expires_on = forms.DateField(
        label="Expires on", required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional; the key stops working at the start of that day (UTC).",
    )  # fmt: skip

    def __init__(self, *args: Any, workspaces: QuerySet[Workspace], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["workspaces"].queryset = workspaces  # type: ignore[attr-defined]

    def clean_expires_on(self) -> date | None:
        expires: date | None = self.cleaned_data.get("expires_on")
        if expires is not None and expires <= timezone.now().date():
            raise forms.ValidationError("Choose a date after today, or leave it empty.")
        return expires

    def expires_at(self) -> datetime | None:
        expires: date | None = self.cleaned_data.get("expires_on")
        if expires is None:
            return None
        return datetime.combine(expires, time.min, tzinfo=timezone.get_current_timezone())
