"""Safe writes: one writer at a time, a file fully old or fully new, and only paths this review owns.

Every command that writes or removes a path goes through here, so that each one checks first that the path
is its own: inside the review root (symlinks followed), or a folder it created and marked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from livingreview.model.errors import UsageError


@contextlib.contextmanager
def review_lock(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on the review so that concurrent ``add``/``cite`` runs take turns.

    The lock is taken on the root folder itself, so no lock file is left behind in the working tree.
    """
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def inside(root: Path, path: Path) -> Path:
    """``path`` with symlinks resolved, refused (UsageError) unless it lies inside ``root``."""
    real, base = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    if real != base and base not in real.parents:
        raise UsageError(f"{path} leads outside the review root ({real}); refusing to write there")
    return real


def make_dirs_inside(root: Path, folder: Path) -> Path:
    """Create ``folder`` and its missing parents one at a time, each checked to lie inside ``root`` first.

    ``mkdir(parents=True)`` follows a committed symlink and creates folders wherever it leads before any check
    after it could refuse; here nothing is created unless the whole path, links resolved, stays in the review.
    """
    inside(root, folder)
    base = Path(root)
    for part in Path(folder).relative_to(base).parts:
        base = base / part
        real = inside(root, base)
        if not real.is_dir():
            real.mkdir()
    return inside(root, folder)


def umask() -> int:
    """The process umask (read without changing it for longer than a moment)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename.

    A symlink is followed (the link stays a link); a new file gets the usual permissions (0666 less the umask),
    an existing one keeps its own.
    """
    path = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def line_ending(data: bytes) -> bytes:
    """The line ending most lines of a file already use (CRLF or LF; LF for a file of one line)."""
    crlf = data.count(b"\r\n")
    return b"\r\n" if crlf > data.count(b"\n") - crlf else b"\n"


def mark_folder(folder: Path, marker: str) -> None:
    """Create ``folder`` (if needed) and record in it that this package made it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / marker).write_text("made by livingreview; safe for it to replace\n", encoding="utf-8")


def owned(folder: Path, *markers: str) -> bool:
    """Whether ``folder`` is missing, empty, or carries one of ``markers`` (so this package may remove it)."""
    if not folder.exists():
        return True
    if folder.is_symlink() or not folder.is_dir():
        return False
    return any((folder / m).exists() for m in markers) or not any(folder.iterdir())


#: the folders whose files the book build copies or reads (besides the pages the TOC names)
BUILD_SOURCES = ("_static", "chapters")


def unsafe_links(root: Path, extra: list[Path] | tuple[Path, ...] = ()) -> list[tuple[Path, str]]:
    """(link, why) for each symlink under ``BUILD_SOURCES`` (or among ``extra``) that the build must not follow.

    Sphinx copies what a link points to: a link out of the review root would publish that file (``/etc/passwd``,
    ``/proc/self/environ``), one into ``.git`` or ``_build`` leaks or loops, and one to a folder that holds the
    link copies the review into itself until the disk is full. Folders are walked without following links.
    """
    base = Path(os.path.realpath(root))
    found: list[tuple[Path, str]] = []

    def judge(link: Path) -> None:
        target = Path(os.path.realpath(link))
        if not target.exists():
            found.append((link, "points to nothing"))
        elif target != base and base not in target.parents:
            found.append((link, "leads outside the review root"))
        elif any(p in (base / "_build", base / ".git") for p in (target, *target.parents)):
            found.append((link, "leads into _build/ or .git/"))
        elif target.is_dir() and (target == base or target in Path(os.path.realpath(link.parent)).parents
                                  or target == Path(os.path.realpath(link.parent))):
            found.append((link, "leads to a folder that contains it (the copy would never end)"))

    for name in BUILD_SOURCES:
        top = root / name
        if top.is_symlink():
            judge(top)
            continue
        for folder, dirs, files in os.walk(top, followlinks=False):
            for entry in (*dirs, *files):
                path = Path(folder) / entry
                if path.is_symlink():
                    judge(path)
    for path in extra:
        if path.is_symlink() and all(path != link for link, _ in found):
            judge(path)
    return sorted(found)


def atomic_text(path: Path, text: str) -> None:
    """Write text atomically (a temporary file of its own and a rename)."""
    atomic_write(path, text.encode("utf-8"))
