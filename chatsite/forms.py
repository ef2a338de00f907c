"""Form fields shared by the apps' forms."""

from django import forms

from .text import strip_unsafe


class CleanCharField(forms.CharField):
    """A CharField whose text is made safe to store first (chatsite.text.strip_unsafe): control
    characters such as NUL, which PostgreSQL refuses, are dropped instead of failing the save."""

    def to_python(self, value):
        if isinstance(value, str):
            value = strip_unsafe(value)
        return super().to_python(value)
