from django import forms

from workspaces.models import Language, WorkspaceRole
from workspaces.retrieval import MODES


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    language = forms.ChoiceField(
        choices=Language.choices,
        initial=Language.ENGLISH,
        help_text="Full-text language: English stems words; Simple suits mixed-language content.",
    )
    is_open = forms.BooleanField(
        required=False, label="Open to every member of the organization", initial=True
    )


class WorkspaceSettingsForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    is_open = forms.BooleanField(required=False, label="Open to every member of the organization")


class TextEntryForm(forms.Form):
    title = forms.CharField(max_length=300)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}))


class RenameForm(forms.Form):
    title = forms.CharField(max_length=300)


class ReplaceForm(forms.Form):
    file = forms.FileField()


class GrantForm(forms.Form):
    principal = forms.CharField(label="Person (email) or group (name)", max_length=254)
    role = forms.ChoiceField(choices=WorkspaceRole.choices, initial=WorkspaceRole.VIEWER)


class RetrievalTestForm(forms.Form):
    q = forms.CharField(required=False, max_length=2000)
    mode = forms.ChoiceField(choices=[(mode, mode) for mode in MODES], required=False)

    def query_and_mode(self) -> tuple[str, str]:
        """The query and the mode (hybrid unless chosen); call after is_valid()."""
        return self.cleaned_data["q"].strip(), self.cleaned_data["mode"] or "hybrid"


class DocumentSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=300)
