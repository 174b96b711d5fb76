from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts.models import Role
from tenants.services import organization_slug_validate


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)


class GroupForm(forms.Form):
    name = forms.CharField(
        max_length=150,  # django.contrib.auth's Group.name
        error_messages={"required": "Give the group a name."},
    )


class GroupMemberForm(forms.Form):
    email = forms.EmailField(error_messages={"required": "Give the member's email address."})


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150, required=False)
    password1 = forms.CharField(label="Choose a password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Repeat it", widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords differ.")
        elif password1:
            try:
                validate_password(password1)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class SignupForm(forms.Form):
    name = forms.CharField(label="Organization name", max_length=120)
    slug = forms.CharField(
        label="Address",
        max_length=100,  # the 3-40 rule is the service's, with its own message
        help_text="Lowercase letters, digits and hyphens; 3 to 40 characters.",
    )
    email = forms.EmailField(label="Your work email")
    password = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)

    def clean_slug(self) -> str:
        return organization_slug_validate(slug=self.cleaned_data["slug"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            try:
                validate_password(password)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class SecurityForm(forms.Form):
    require_two_factor = forms.BooleanField(required=False)
