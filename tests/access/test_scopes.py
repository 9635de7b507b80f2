from __future__ import annotations

import pytest

from tandem.access.scopes import (
    InvalidScope,
    Scope,
    covers,
    normalize_path,
    normalize_scope,
    overlaps,
)


def test_file_and_folder_scopes(root):
    assert normalize_scope(str(root), "class/lesson.ipynb") == Scope("class/lesson.ipynb", False)
    assert normalize_scope(str(root), "class") == Scope("class", True)
    assert normalize_scope(str(root), "class/") == Scope("class", True)
    assert normalize_scope(str(root), "./class//lesson.ipynb").path == "class/lesson.ipynb"
    # Paths arrive decoded once (by Tornado); "%2F" is part of a name, never a separator.
    with pytest.raises(InvalidScope):
        normalize_scope(str(root), "class%2Flesson.ipynb")


def test_symlink_inside_root_resolves_to_its_target(root):
    assert normalize_scope(str(root), "alias") == Scope("class", True)
    assert normalize_path(str(root), "alias/lesson.ipynb") == "class/lesson.ipynb"


@pytest.mark.parametrize(
    "bad",
    [
        "/etc/passwd",
        "//etc",
        "../outside",
        "class/../../outside",
        "..",
        "class/..%2F..",
        "%2e%2e/outside",
        "%2E%2E%2Foutside",
        "%2Fetc%2Fpasswd",
        "%252e%252e/outside",
        "class\\..\\..\\outside",
        "class/lesson.ipynb\x00",
        "class/%00",
        "class/\nx",
        "class/\x1b[31m",
        "C:/Windows",
        "out",
        "out/private.ipynb",
        "private-link.ipynb",
        "",
        ".",
        "%ff%fe",
        "missing.ipynb",
    ],
)
def test_traversal_and_escapes_rejected(root, bad):
    with pytest.raises(InvalidScope):
        normalize_scope(str(root), bad)


def test_request_paths_may_not_exist_yet_but_must_stay_inside(root):
    assert normalize_path(str(root), "class/new.ipynb") == "class/new.ipynb"
    assert normalize_path(str(root), "") == ""
    with pytest.raises(InvalidScope):
        normalize_path(str(root), "out/new.ipynb")


def test_covers_is_exact_for_files_and_by_segment_for_folders():
    assert covers("notes.ipynb", False, "notes.ipynb")
    assert not covers("notes.ipynb", False, "notes.ipynb.bak")
    assert not covers("notes.ipynb", False, "notes.ipynb/x")
    assert covers("class", True, "class")
    assert covers("class", True, "class/lesson.ipynb")
    assert covers("class", True, "class/deep/er.ipynb")
    assert not covers("class", True, "classic/x.ipynb")
    assert not covers("class", True, "")
    assert not covers("class", True, "class/../secret.ipynb")
    assert not covers("class", True, "/class/x")
    assert not covers("class", True, "class//x")


def test_overlaps_includes_scopes_below_a_path():
    assert overlaps("class/lesson.ipynb", False, "class")
    assert overlaps("class", True, "class/lesson.ipynb")
    assert not overlaps("classic/x.ipynb", False, "class")
