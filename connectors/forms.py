import json

from django import forms

from connectors.models import Schedule

SCHEDULE_REFUSAL = {"invalid_choice": "Choose how often to sync from the list."}


def mirroring_field(*, noun: str, mirrored: str) -> forms.TypedChoiceField:
    """Whether a new source's documents carry the source's permissions. A choice rather than
    a checkbox: a form posted without it keeps the safe default (mirroring)."""
    return forms.TypedChoiceField(
        label=f"Who reads its {noun} here",
        choices=[("1", mirrored), ("0", "Everyone who may read this workspace")],
        coerce=lambda value: value == "1",
        initial="1",
        required=False,
        empty_value=True,  # type: ignore[arg-type]  # the stubs say str
        error_messages={"invalid_choice": f"Choose who reads the {noun} from the list."},
    )


def schedule_field() -> forms.TypedChoiceField:
    """How often a new source syncs; daily unless chosen."""
    return forms.TypedChoiceField(
        label="Sync",
        choices=Schedule.choices,
        coerce=int,
        initial=Schedule.DAILY,
        required=False,
        empty_value=int(Schedule.DAILY),  # type: ignore[arg-type]  # the stubs say str
        error_messages=SCHEDULE_REFUSAL,
    )


class WebsiteSourceForm(forms.Form):
    start_url = forms.URLField(
        label="Start URL or sitemap.xml",
        max_length=2000,
        assume_scheme="https",
        error_messages={
            "required": "Give the address of the site's first page or of its sitemap.xml.",
            "invalid": "Give a web address such as https://example.com/help/.",
        },
    )
    # Not `prefix`: a form's own attribute of that name prefixes its fields' names.
    path_prefix = forms.URLField(
        label="Only pages under",
        max_length=2000,
        required=False,
        assume_scheme="https",
        help_text="Leave empty for the start URL's folder.",
        error_messages={
            "invalid": "Give the prefix as a web address, e.g. https://example.com/help/."
        },
    )
    schedule = schedule_field()
    username = forms.CharField(label="User name (if the site asks)", max_length=200, required=False)
    password = forms.CharField(
        label="Password", max_length=200, required=False, widget=forms.PasswordInput
    )


MIRRORING_CHOICES = [
    ("1", "Only those each item is shared with at the source"),
    ("0", "Everyone who may read this workspace"),
]


class SourceSettingsForm(forms.Form):
    schedule = forms.TypedChoiceField(
        label="Sync", choices=Schedule.choices, coerce=int, error_messages=SCHEDULE_REFUSAL
    )
    paused = forms.BooleanField(label="Paused", required=False)
    # Sent only for a source with permissions; absent: as it is.
    mirror_permissions = forms.TypedChoiceField(
        label="Who reads its items here",
        choices=MIRRORING_CHOICES,
        coerce=lambda value: value == "1",
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "Choose who reads the items from the list."},
    )


class SourceRemoveForm(forms.Form):
    documents_too = forms.BooleanField(label="Delete the documents it synced too", required=False)


class DriveSourceForm(forms.Form):
    key_file = forms.CharField(
        label="Service account key (JSON)",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Paste the service account's key file (JSON)."},
    )
    folder_id = forms.CharField(
        label="Folder ID",
        max_length=200,
        required=False,
        help_text="The part after /folders/ in the folder's address; empty: every file the "
        "account may read.",
    )
    subject = forms.EmailField(
        label="Act as (domain-wide delegation)",
        required=False,
        error_messages={"invalid": "Give the address of the Google Workspace user to act as."},
    )
    schedule = schedule_field()
    mirror_permissions = mirroring_field(
        noun="files", mirrored="Only those each file is shared with in Drive"
    )


class ConfluenceSourceForm(forms.Form):
    site_url = forms.URLField(
        label="Site address",
        max_length=500,
        assume_scheme="https",
        error_messages={
            "required": "Give your Confluence site's address, such as https://acme.atlassian.net.",
            "invalid": "Give your Confluence site's address, such as https://acme.atlassian.net.",
        },
    )
    email = forms.EmailField(
        label="Atlassian account email",
        error_messages={
            "required": "Give the email of the Atlassian account the API token belongs to.",
            "invalid": "Give the email of the Atlassian account the API token belongs to.",
        },
    )
    api_token = forms.CharField(
        label="API token",
        max_length=1000,
        widget=forms.PasswordInput,
        error_messages={"required": "Paste the API token made for that Atlassian account."},
    )
    spaces = forms.CharField(
        label="Spaces",
        max_length=2000,
        help_text="Space keys, separated by commas (HR, ENG).",
        error_messages={"required": "Name at least one space by its key, such as HR."},
    )
    schedule = schedule_field()
    mirror_permissions = mirroring_field(
        noun="pages", mirrored="Only those who may view each page in Confluence"
    )

    def clean_spaces(self) -> list[str]:
        return [key.strip() for key in self.cleaned_data["spaces"].split(",") if key.strip()]


class NotionSourceForm(forms.Form):
    token = forms.CharField(
        label="Integration secret",
        max_length=500,
        widget=forms.PasswordInput,
        error_messages={"required": "Paste the integration's secret (it starts with ntn_)."},
    )
    schedule = schedule_field()


class MicrosoftSourceForm(forms.Form):
    tenant_id = forms.CharField(
        label="Directory (tenant) ID",
        max_length=100,
        error_messages={"required": "Give the directory (tenant) ID of the app registration."},
    )
    client_id = forms.CharField(
        label="Application (client) ID",
        max_length=100,
        error_messages={"required": "Give the application (client) ID of the app registration."},
    )
    client_secret = forms.CharField(
        label="Client secret (its value)",
        max_length=500,
        widget=forms.PasswordInput,
        error_messages={"required": "Give the value of one of the app's client secrets."},
    )
    site_url = forms.URLField(
        label="SharePoint site",
        max_length=2000,
        required=False,
        assume_scheme="https",
        help_text="e.g. https://example.sharepoint.com/sites/handbook: its document library.",
        error_messages={
            "invalid": "Give the site's address, e.g. https://example.sharepoint.com/sites/hr."
        },
    )
    user = forms.EmailField(
        label="Or a user's OneDrive",
        required=False,
        error_messages={"invalid": "Give the email address of the user whose OneDrive to sync."},
    )
    folder = forms.CharField(
        label="Folder",
        max_length=500,
        required=False,
        help_text="A path in the library or OneDrive, e.g. Policies/HR; empty: all of it.",
    )
    schedule = schedule_field()
    mirror_permissions = mirroring_field(
        noun="files", mirrored="Only those each file is shared with in SharePoint or OneDrive"
    )


class PickedForm(forms.Form):
    """A form whose selection may come from the picker (`picked`: the choice of a folder
    listed from the account, as JSON of the typed fields it fills) or be typed."""

    PICKABLE: tuple[str, ...] = ()
    picked = forms.CharField(required=False, max_length=4000)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        picked = cleaned.pop("picked", "")
        if not picked:
            return cleaned
        try:
            choice = json.loads(picked)
        except ValueError:
            choice = None
        if (
            not isinstance(choice, dict)
            or not set(choice) <= set(self.PICKABLE)
            or not all(isinstance(value, str) and len(value) <= 2000 for value in choice.values())
        ):
            raise forms.ValidationError("Pick a folder from the list again.")
        # The choice replaces what was typed: every field it may fill, empty unless it does.
        return {**cleaned, **dict.fromkeys(self.PICKABLE, ""), **choice}


class DriveConsentedSourceForm(PickedForm):
    """What to sync from a Drive connected by consent (the account's own files)."""

    PICKABLE = ("folder_id",)

    folder_id = forms.CharField(
        label="Folder ID",
        max_length=200,
        required=False,
        help_text="The part after /folders/ in the folder's address; empty: every file you "
        "may read in Drive.",
    )
    schedule = schedule_field()
    mirror_permissions = DriveSourceForm.base_fields["mirror_permissions"]


class MicrosoftConsentedSourceForm(PickedForm):
    """What to sync from SharePoint / OneDrive connected by consent."""

    PICKABLE = ("site_url", "user", "folder")

    site_url = MicrosoftSourceForm.base_fields["site_url"]
    user = forms.EmailField(
        label="Or a OneDrive",
        required=False,
        help_text="Yours is filled in; a colleague's only if they shared it with you.",
        error_messages={"invalid": "Give the email address of the user whose OneDrive to sync."},
    )
    folder = MicrosoftSourceForm.base_fields["folder"]
    schedule = schedule_field()
    mirror_permissions = MicrosoftSourceForm.base_fields["mirror_permissions"]
