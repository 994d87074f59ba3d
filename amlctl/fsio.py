"""Crash-safe, confined file writing for exports: nothing escapes the root, nothing is half-written.

Every write goes temp file -> fsync(file) -> os.replace -> fsync(folder), so after a crash or a
power loss a final name holds either its old content or its new content, never part of either.
Writers of many files (exports) may go through `OpenFolders`, which keeps the folders open and
syncs each once per batch: until it has, a power loss may leave a name as it was before.
Temp files are named `.amlctl-tmp-*` so a resumed run can remove leftovers with `clean_temp`.
`write_file_atomic` is the same write without confinement, for files whose path the user names
(plan files); `fsync_dir` makes a new name in a folder durable (the journal).

Confinement works on folder file descriptors: each path component below the root is opened
with O_NOFOLLOW|O_DIRECTORY relative to its parent's descriptor, and files are created relative
to the last one. A symbolic link anywhere below the root is refused, and because nothing is
looked up by full path again after the check, swapping a folder for a link mid-way cannot
redirect a write (no check-then-use race). The root itself is the user's choice and may be a
link. Folders are created 0700 and files 0600 at creation: personal data is never readable by
others, not even for the moment between create and chmod.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import secrets
import stat
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from amlctl.errors import AmlctlError

TEMP_PREFIX = ".amlctl-tmp-"
DIR_MODE = 0o700
FILE_MODE = 0o600
_CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Temp names: a random part drawn once per process, then a counter. O_EXCL, not the name, is
# what keeps two writers apart (a clash just takes the next number); drawing 8 random bytes per
# file cost a getrandom system call each.
_TEMP_RUN = secrets.token_hex(6)
_TEMP_NUMBERS = itertools.count()


class FsError(AmlctlError):
    """A file or folder amlctl writes (under an export root, or a plan) could not be written."""


class UnsafePathError(FsError):
    """A relative path would leave its root (absolute, `..`, a symbolic link on the way)."""


@dataclass(frozen=True)
class FileRecord:
    """A file written under a root: its posix path relative to the root, SHA-256 hex, bytes."""

    path: str
    sha256: str
    size: int


def write_atomic(
    root: Path, relative: str, data: bytes, folders: OpenFolders | None = None
) -> FileRecord:
    """Write `data` to `root/relative` atomically and durably, file 0600; see the module doc
    (and `write_stream_atomic` for `folders`)."""
    return write_stream_atomic(root, relative, (data,), folders)


def write_stream_atomic(
    root: Path, relative: str, chunks: Iterable[bytes], folders: OpenFolders | None = None
) -> FileRecord:
    """Write the bytes of `chunks` to `root/relative` atomically, hashing as they go.

    An exception from `chunks` (a dropped download) propagates unchanged after the temp file
    is removed; the final name keeps whatever it held before. Filesystem failures raise FsError.
    With `folders` (whose root must be `root`), the folder is reached through its cache and not
    synced here: the file's bytes are durable on return, its new name once `folders.sync()` ran.
    """
    parts = _parts(relative, allow_empty=False)
    if folders is not None:
        folder = folders.open(relative, parts[:-1])
        try:
            digest, size = _replace_in(
                folder, parts[-1], relative, chunks, FILE_MODE,
                sync_folder=False, umask=folders.umask,
            )
        finally:
            folders.release(parts[:-1], folder)
        return FileRecord("/".join(parts), digest, size)
    folder = _open_dir(root, relative, parts[:-1])
    try:
        digest, size = _replace_in(folder, parts[-1], relative, chunks, FILE_MODE)
    finally:
        os.close(folder)
    return FileRecord("/".join(parts), digest, size)


class OpenFolders:
    """The folders under `root` that many files are written into (exports), kept open: each is
    walked and checked for links once, not once per file, and the fsync that makes new names
    durable is batched: `sync()` runs one per folder written to since the last. A descriptor
    once checked stays safe to write through, even if the path is swapped for a link later.
    Safe to share between threads; `close()` when done (collection closes them too).

    The umask is read once, here (`current_umask`): files created through it are fchmod'ed
    only when that umask narrows them, not fstat'ed one by one to find out. Nothing in amlctl
    changes the umask while it writes, and a writer that did would get files narrower than
    0600, never wider: a umask only removes bits."""

    LIMIT = 128  # folders kept open; past that, a folder is opened and closed per file

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._open: dict[tuple[str, ...], int] = {}
        self._pending: set[tuple[str, ...]] = set()
        self._finalizer = weakref.finalize(self, _close_all, self._open)
        self.umask = current_umask()

    def open(self, relative: str, parts: tuple[str, ...]) -> int:
        """A descriptor of root/parts (created 0700 where missing); hand it to `release`."""
        with self._lock:
            fd = self._open.get(parts)
        if fd is not None:
            return fd
        fd = _open_dir(self.root, relative, parts)
        with self._lock:
            if parts not in self._open and len(self._open) < self.LIMIT:
                self._open[parts] = fd
        return fd

    def release(self, parts: tuple[str, ...], fd: int) -> None:
        """Done writing into `fd`: its folder's sync is now owed; a descriptor not kept is
        closed."""
        with self._lock:
            self._pending.add(parts)
            kept = self._open.get(parts) == fd
        if not kept:
            os.close(fd)

    def sync(self) -> int:
        """fsync every folder written to since the last sync; return how many. FsError."""
        with self._lock:
            pending, self._pending = self._pending, set()
        for parts in sorted(pending):
            shown = "/".join(parts) or "."
            fd = self.open(shown, parts)
            try:
                with _fs_errors(shown, "cannot sync folder"):
                    os.fsync(fd)
            finally:
                with self._lock:
                    kept = self._open.get(parts) == fd
                if not kept:
                    os.close(fd)
        return len(pending)

    def close(self) -> None:
        """Close the kept descriptors (after a last `sync()`, if the names must be durable)."""
        with self._lock:
            _close_all(self._open)


def _close_all(descriptors: dict[tuple[str, ...], int]) -> None:
    for fd in descriptors.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    descriptors.clear()


def write_file_atomic(path: Path, data: bytes | Iterable[bytes], *, mode: int) -> None:
    """Write `data` (bytes, or pieces of them) to `path` atomically and durably, file exactly
    `mode`, NOT confined.

    For files the user names (plan files, shared and reviewed, so 0644): `path` may be anywhere
    and its folder, which must exist, is reached through links like any path. Filesystem
    failures raise FsError naming `path`.
    """
    with _fs_errors(str(path), "cannot open the folder of"):
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        chunks = (data,) if isinstance(data, bytes) else data
        _replace_in(folder, path.name, str(path), chunks, mode)
    finally:
        os.close(folder)


def fsync_dir(folder: Path) -> None:
    """fsync `folder`, so a name just created or renamed in it survives a power loss."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_input(path: Path, limit: int) -> bytes:
    """The bytes of an input file (a manifest, a catalog), refusing what is not a regular file
    (a FIFO would hang the reader, /dev/zero never end) or is over `limit` bytes. OSError (not
    found, no permission) is the caller's to word; FsError says why it refused, without the
    path (the caller's diagnostic names it)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block us
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FsError("not a regular file (a device, FIFO or folder); refusing to read it")
        data = b""
        while len(data) <= limit:
            chunk = os.read(fd, 65536)
            if not chunk:
                return data
            data += chunk
        size = max(info.st_size, len(data))
        raise FsError(f"file is {size} bytes; the limit is {limit} ({limit / 2**20:g} MiB)")
    finally:
        os.close(fd)


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 hex and size of the file at `path`; a symbolic link there is refused (OSError)."""
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as stream:
        while block := stream.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def clean_temp(root: Path) -> list[str]:
    """Remove leftover `.amlctl-tmp-*` files under `root`; return their relative paths.

    Only call it while holding the plan lock: another writer's temp files look the same.
    Symbolic links to folders are not followed, so nothing outside `root` is touched.
    """
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for name in sorted(files):
            if name.startswith(TEMP_PREFIX):
                path = Path(folder, name)
                path.unlink(missing_ok=True)
                removed.append(path.relative_to(root).as_posix())
    return sorted(removed)


def confined_path(root: Path, relative: str) -> Path:
    """`root/relative` for reading, after checking it stays inside `root` once links are resolved.

    For reads (verify) where no descriptor walk is needed; raises UnsafePathError.
    """
    parts = _parts(relative, allow_empty=False)
    real_root = os.path.realpath(root)
    target = os.path.realpath(Path(real_root, *parts))
    if os.path.commonpath([real_root, target]) != real_root:
        raise UnsafePathError(f"{relative!r} resolves outside {root} (to {target})")
    return Path(root, *parts)


def _parts(relative: str, *, allow_empty: bool) -> tuple[str, ...]:
    """The components of a relative posix path, refusing anything that could leave the root."""
    if "\0" in relative or "\\" in relative:
        raise UnsafePathError(f"unsafe path {relative!r}: NUL or backslash in name")
    pure = PurePosixPath(relative)
    if pure.is_absolute():
        raise UnsafePathError(f"unsafe path {relative!r}: absolute, must be relative to the root")
    if ".." in pure.parts:
        raise UnsafePathError(f"unsafe path {relative!r}: '..' would leave the root")
    parts = tuple(part for part in pure.parts if part != ".")
    if not parts and not allow_empty:
        raise UnsafePathError(f"unsafe path {relative!r}: no file name")
    return parts


def _open_dir(root: Path, relative: str, parts: tuple[str, ...]) -> int:
    """A descriptor of root/parts, creating missing folders 0700 and refusing links on the way."""
    fd = _open_root(root)
    try:
        for depth, part in enumerate(parts, start=1):
            child = _open_child(fd, part, relative, "/".join(parts[:depth]))
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_root(root: Path) -> int:
    missing = [p for p in (root, *root.parents) if not p.exists()]
    with _fs_errors(str(root), "cannot create export root"):
        for folder in reversed(missing):
            _mkdir_private(folder)
        return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _open_child(parent: int, name: str, relative: str, shown: str) -> int:
    created = _mkdir_private(name, parent, relative)
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePathError(
                f"unsafe path {relative!r}: {shown} is a symbolic link or not a folder"
            ) from None
        raise FsError(f"cannot open folder {shown!r}: {error.strerror}") from None
    if created:
        _narrow_to(fd, DIR_MODE)
    return fd


def _mkdir_private(name: str | Path, parent: int | None = None, relative: str = "") -> bool:
    """mkdir with mode 0700; True when it created the folder, False when something was there."""
    try:
        os.mkdir(name, DIR_MODE, dir_fd=parent)
    except FileExistsError:
        return False
    except OSError as error:
        raise FsError(f"cannot create folder {name!s} for {relative!r}: {error.strerror}") from None
    if parent is None:
        os.chmod(name, DIR_MODE)  # the root: a umask like 0o277 must not leave it unusable
    return True


def current_umask() -> int | None:
    """The process's umask, from /proc/self/status (Linux 4.7+), or None where that does not
    say: `os.umask` reads it only by setting it, which would race other threads' creates."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _narrow_to(fd: int, mode: int) -> None:
    """Set exactly `mode` when umask made it narrower; umask can only remove bits, never add."""
    if stat.S_IMODE(os.fstat(fd).st_mode) != mode:
        os.fchmod(fd, mode)


def _replace_in(
    folder: int,
    name: str,
    shown: str,
    chunks: Iterable[bytes],
    mode: int,
    *,
    sync_folder: bool = True,
    umask: int | None = None,
) -> tuple[str, int]:
    """Write `chunks` to a temp file in `folder`, then rename it to `name`; SHA-256 hex, size.
    `umask`: the process's, when known (saves an fstat); None looks at the new file instead."""
    temp, fd = _new_temp(folder, shown, mode, umask)
    try:
        try:
            digest, size = _fill(fd, shown, chunks)
        finally:
            os.close(fd)
        with _fs_errors(shown, "cannot rename into place"):
            os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        _unlink_quietly(temp, folder)
        raise
    # The rename is atomic but only durable once the folder entry itself is on disk.
    if sync_folder:
        with _fs_errors(shown, "cannot sync folder"):
            os.fsync(folder)
    return digest, size


def _new_temp(folder: int, relative: str, mode: int, umask: int | None) -> tuple[str, int]:
    """Create a temp file (`mode`) in `folder`; return its name and a descriptor to write it."""
    with _fs_errors(relative, "cannot create temp file"):
        name, fd = _create_exclusive(folder, mode)
    try:
        if umask is None:
            _narrow_to(fd, mode)
        elif mode & umask:  # the umask took bits of `mode` away: put them back
            os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return name, fd


def _create_exclusive(folder: int, mode: int) -> tuple[str, int]:
    """A new temp file in `folder` (`mode` less the umask), under the next free temp name."""
    for _attempt in range(99):
        name = f"{TEMP_PREFIX}{_TEMP_RUN}-{next(_TEMP_NUMBERS):x}"
        try:
            return name, os.open(name, _TEMP_FLAGS, mode, dir_fd=folder)
        except FileExistsError:  # another process's, or a killed run's: take the next
            continue
    raise FileExistsError(errno.EEXIST, "no free temp name")


def _fill(fd: int, relative: str, chunks: Iterable[bytes]) -> tuple[str, int]:
    """Write `chunks` to `fd` unbuffered and fsync it; return SHA-256 hex and size."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:  # errors raised by the iterator itself pass through unchanged
        digest.update(chunk)
        size += len(chunk)
        with _fs_errors(relative, "cannot write"):
            _write_all(fd, chunk)
    with _fs_errors(relative, "cannot sync"):
        os.fsync(fd)
    return digest.hexdigest(), size


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@contextmanager
def _fs_errors(relative: str, what: str) -> Iterator[None]:
    """Turn an OSError of our own syscalls into FsError naming the file (disk full, EACCES)."""
    try:
        yield
    except FsError:
        raise
    except OSError as error:
        raise FsError(f"{what} {relative!r}: {error.strerror or error}") from None


def _unlink_quietly(name: str, folder: int) -> None:
    # A leftover temp is harmless: clean_temp removes it on the next run.
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=folder)


def read_line_at(fd: int, offset: int) -> bytes:
    """The line of `fd` that starts at `offset`, however long, without its newline (what the
    journal and apply's outcomes keep on disk and find again by offset)."""
    pieces = []
    while True:
        piece = os.pread(fd, 4096, offset)
        newline = piece.find(b"\n")
        if newline >= 0 or not piece:
            pieces.append(piece[: newline if newline >= 0 else len(piece)])
            return b"".join(pieces)
        pieces.append(piece)
        offset += len(piece)
