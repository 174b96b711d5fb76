from django import forms


class CheckoutForm(forms.Form):
    plan = forms.SlugField(max_length=30)
