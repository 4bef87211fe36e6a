"""The Try it form: an uploaded image or a URL, and a scale."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

SCALES = [(value, f"{value}\N{MULTIPLICATION SIGN}") for value in ("1", "1.5", "2", "3", "4")]


class TryItForm(forms.Form):
    image = forms.FileField(
        required=False, label="Upload an image",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    url = forms.URLField(
        required=False, label="…or paste an image URL", assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/photo.jpg"}),
    )
    scale = forms.TypedChoiceField(choices=SCALES, coerce=float, initial="2", label="Scale")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.ARTNEX_MAX_INPUT_BYTES)
        self.fields["image"].help_text = f"JPEG, PNG or WebP, up to {limit}."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        image, url = cleaned.get("image"), cleaned.get("url")
        if not image and not url and not self.errors:
            raise forms.ValidationError("Choose an image to upload, or paste the URL of one.", code="missing_image")
        if image and url:
            raise forms.ValidationError("Give either a file or a URL, not both.", code="both")
        limit = settings.ARTNEX_MAX_INPUT_BYTES
        if image and image.size > limit:
            # Refused from its declared size, before the service reads it into memory.
            self.add_error("image", forms.ValidationError(
                f"This file is larger than {filesizeformat(limit)}.", code="image_too_large"))
        return cleaned
