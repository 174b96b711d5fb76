from datetime import date
from typing import Any

from django import forms

from workspaces.models import DocumentKind, Language, WorkspaceRole
from workspaces.search.retrieval import MODES, RetrievalFilters, updated_after_refusal
from workspaces.tags import TAG_MAX_CHARS, TagRefused, tags_normalise


class TagsField(forms.CharField):
    """Tags typed separated by commas, cleaned to the normalised list (workspaces.tags)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 1000)
        kwargs.setdefault(
            "help_text", f"Separated by commas; at most {TAG_MAX_CHARS} characters each."
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value)
        try:
            return tags_normalise(text or "")
        except TagRefused as refusal:
            raise forms.ValidationError(str(refusal)) from None


class RetrievalFiltersForm(forms.Form):
    """The filter bar of Ask and of the retrieval test page."""

    tags = TagsField(label="Tags")
    kinds = forms.MultipleChoiceField(
        label="Types",
        choices=DocumentKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "“%(value)s” is not a document type we keep."},
    )
    updated_after = forms.DateField(
        label="Updated after",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Give the date as YYYY-MM-DD, e.g. 2026-01-01."},
    )

    def clean_updated_after(self) -> date | None:
        value: date | None = self.cleaned_data.get("updated_after")
        refusal = updated_after_refusal(value) if value is not None else ""
        if refusal:
            raise forms.ValidationError(refusal)
        return value

    def filters(self) -> RetrievalFilters:
        """The chosen filters; call after is_valid()."""
        return RetrievalFilters(
            tags=tuple(self.cleaned_data.get("tags") or ()),
            kinds=tuple(self.cleaned_data.get("kinds") or ()),
            updated_after=self.cleaned_data.get("updated_after"),
        )


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
    tags = TagsField()


class UploadTagsForm(forms.Form):
    tags = TagsField()


class DocumentTagsForm(forms.Form):
    tags = TagsField()


class RenameForm(forms.Form):
    title = forms.CharField(max_length=300)


class ReplaceForm(forms.Form):
    file = forms.FileField()


class GrantForm(forms.Form):
    principal = forms.CharField(label="Person (email) or group (name)", max_length=254)
    role = forms.ChoiceField(choices=WorkspaceRole.choices, initial=WorkspaceRole.VIEWER)


class RetrievalTestForm(RetrievalFiltersForm):
    q = forms.CharField(required=False, max_length=2000)
    mode = forms.ChoiceField(choices=[(mode, mode) for mode in MODES], required=False)

    def query_and_mode(self) -> tuple[str, str]:
        """The query and the mode (hybrid unless chosen); call after is_valid()."""
        return self.cleaned_data["q"].strip(), self.cleaned_data["mode"] or "hybrid"


class DocumentSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=300)


class EmbeddingModelForm(forms.Form):
    """The model an admin moves the organization's passages to."""

    model = forms.ChoiceField(
        label="New embedding model",
        error_messages={
            "required": "Choose an embedding model.",
            "invalid_choice": "“%(value)s” is not an embedding model offered here.",
        },
    )

    def __init__(self, *args: Any, choices: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["model"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = list(choices.items())
