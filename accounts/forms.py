"""Portal forms of the accounts app."""

from __future__ import annotations

from django import forms


class NewApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, strip=True, label="Key name",
        help_text="Something that says where the key is used, e.g. “production server”.",
        widget=forms.TextInput(
            attrs={"placeholder": "production server", "autocomplete": "off", "aria-describedby": "name-help"}
        ),
    )
