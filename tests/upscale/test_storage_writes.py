"""Result writes on local disk replace a file atomically: a download sees the old file or the
new one, and a write that fails half-way leaves the old one whole (a paid link keeps working)."""

from __future__ import annotations

import os

import pytest
from django.core.files.storage import default_storage

from upscale import storage

NAME = storage.result_name("req_ups_atomicwrite", "png")


@pytest.fixture(autouse=True)
def clean():
    yield
    storage.delete(NAME)


def folder_listing() -> list[str]:
    return sorted(default_storage.listdir(os.path.dirname(NAME))[1])


def test_a_second_write_replaces_the_file_under_its_name() -> None:
    assert storage.save(NAME, b"first") == NAME
    assert storage.save(NAME, b"second") == NAME
    assert storage.read(NAME) == b"second"
    assert folder_listing() == ["upscaled.png"]


def test_a_write_that_fails_half_way_leaves_the_existing_file_whole(monkeypatch) -> None:
    storage.save(NAME, b"the winner's paid result")

    def killed(source: str, target: str) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(storage.os, "replace", killed)
    with pytest.raises(OSError):
        storage.save(NAME, b"a loser's copy")

    assert storage.read(NAME) == b"the winner's paid result"
    assert folder_listing() == ["upscaled.png"]  # no partial file left behind
