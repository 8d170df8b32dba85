"""Seeding the buckets from a site folder (make demo SITE=...): a symlink that leaves the
folder is never served, and it is named."""

from __future__ import annotations

from pathlib import Path

from local.s3.buckets import site_files


def test_symlinks_leaving_the_folder_are_skipped_and_named(tmp_path: Path) -> None:
    secret = tmp_path / "home" / ".ssh"
    secret.mkdir(parents=True)
    (secret / "id_ed25519").write_text("PRIVATE KEY")
    site = tmp_path / "site"
    (site / "docs").mkdir(parents=True)
    (site / "index.html").write_text("<h1>site</h1>")
    (site / "docs" / "a.txt").write_text("a")
    (site / "key").symlink_to(secret / "id_ed25519")  # a file outside
    (site / "ssh").symlink_to(secret)  # a folder outside
    (site / "docs" / "up").symlink_to(tmp_path / "home", target_is_directory=True)
    (site / "latest.html").symlink_to(site / "index.html")  # inside: served under its own name
    files, skipped = site_files(site)
    assert [p.relative_to(site).as_posix() for p in files] == ["docs/a.txt", "index.html", "latest.html"]
    assert skipped == ["docs/up/", "key", "ssh/"]
