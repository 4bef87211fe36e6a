"""Exceptions raised by the engine; the service maps them to its own error codes."""

from __future__ import annotations


class EngineError(Exception):
    """Base class for every failure the engine reports on purpose."""


class ModelUnavailable(EngineError):
    """The weights are not in the model folder and could not be downloaded."""


class UnsupportedImage(EngineError):
    """Pillow cannot decode the image, or its pixel format is not one we handle."""
