from django import forms


class FindOrganizationForm(forms.Form):
    email = forms.EmailField(label="Your email")
