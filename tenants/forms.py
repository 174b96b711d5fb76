from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tenants.services import organization_slug_validate


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


class FindOrganizationForm(forms.Form):
    email = forms.EmailField(label="Your email")
