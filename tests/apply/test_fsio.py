"""fsio: confinement, permissions at creation, atomic replace, crash leftovers and syscall order."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from amlctl import fsio
from amlctl.errors import AmlctlError
from amlctl.fsio import (
    TEMP_PREFIX,
    FsError,
    UnsafePathError,
    clean_temp,
    confined_path,
    fsync_dir,
    sha256_file,
    write_atomic,
    write_file_atomic,
    write_stream_atomic,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def temps(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(f"{TEMP_PREFIX}*"))


@pytest.fixture(params=[0o000, 0o022, 0o077, 0o277], ids=lambda m: f"umask{m:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(old)


def test_write_atomic_creates_private_folders_and_file(tmp_path: Path, umask: int) -> None:
    root = tmp_path / "new" / "out"
    record = write_atomic(root, "ws/run/item.json", b'{"a": 1}\n')
    os.umask(0o022)  # reading back must not depend on the umask under test
    assert record == fsio.FileRecord(
        "ws/run/item.json", hashlib.sha256(b'{"a": 1}\n').hexdigest(), 9
    )
    assert (root / "ws/run/item.json").read_bytes() == b'{"a": 1}\n'
    assert mode(root / "ws/run/item.json") == 0o600
    for folder in (tmp_path / "new", root, root / "ws", root / "ws/run"):
        assert mode(folder) == 0o700, folder
    assert temps(root) == []


def test_write_file_atomic_sets_its_mode_and_is_not_confined(tmp_path: Path, umask: int) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")  # a plans/ folder may be a link
    write_file_atomic(tmp_path / "link" / "x.plan.json", b"old", mode=0o644)
    write_file_atomic(tmp_path / "link" / "x.plan.json", b"new", mode=0o644)
    os.umask(0o022)
    assert (tmp_path / "real/x.plan.json").read_bytes() == b"new"
    assert mode(tmp_path / "real/x.plan.json") == 0o644
    assert os.listdir(tmp_path / "real") == ["x.plan.json"]


def test_write_file_atomic_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FsError, match=r"cannot open the folder of '.*/missing/x': No such file"):
        write_file_atomic(tmp_path / "missing" / "x", b"x", mode=0o644)


def test_existing_folders_keep_their_mode(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir(mode=0o755)
    os.chmod(tmp_path / "shared", 0o755)
    write_atomic(tmp_path, "shared/x.json", b"x")
    assert mode(tmp_path / "shared") == 0o755  # not ours to change
    assert mode(tmp_path / "shared/x.json") == 0o600


@pytest.mark.parametrize(
    "relative",
    ["../x", "/etc/passwd", "a/../../b", "a/../b", "..", "", ".", "a\\..\\b", "x\0y", "a/.."],
)
def test_hostile_relative_paths_are_refused(tmp_path: Path, relative: str) -> None:
    root = tmp_path / "root"
    with pytest.raises(UnsafePathError) as caught:
        write_atomic(root, relative, b"data")
    assert repr(relative) in str(caught.value)
    assert isinstance(caught.value, AmlctlError)
    assert not (tmp_path / "x").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("relative", ["../x", "/etc", "a/../../b"])
def test_escapes_are_refused_before_anything_is_made(tmp_path: Path, relative: str) -> None:
    with pytest.raises(UnsafePathError):
        write_atomic(tmp_path / "root", relative, b"data")
    assert list(tmp_path.iterdir()) == []  # refused before anything, even the root, is made


def test_symlinked_folder_pointing_outside_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "ws").mkdir()
    (root / "ws" / "run").symlink_to(outside)
    for relative in ("ws/run/item.json", "ws/run/deeper/item.json"):
        with pytest.raises(UnsafePathError, match=r"ws/run is a symbolic link"):
            write_atomic(root, relative, b"secret")
    assert list(outside.iterdir()) == []


def test_symlink_inside_root_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    with pytest.raises(UnsafePathError, match="alias"):
        write_atomic(tmp_path, "alias/x.json", b"x")


def test_a_file_where_a_folder_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ws").write_bytes(b"not a folder")
    with pytest.raises(UnsafePathError, match="not a folder"):
        write_atomic(tmp_path, "ws/item.json", b"x")


def test_a_symlink_at_the_final_name_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me")
    root = tmp_path / "root"
    root.mkdir()
    (root / "item.json").symlink_to(outside)
    write_atomic(root, "item.json", b"new")
    assert outside.read_bytes() == b"keep me"
    assert not (root / "item.json").is_symlink()
    assert (root / "item.json").read_bytes() == b"new"


def test_root_may_itself_be_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    write_atomic(tmp_path / "link", "a/x.json", b"x")
    assert (tmp_path / "real/a/x.json").read_bytes() == b"x"


def test_stream_hashes_as_it_goes(tmp_path: Path) -> None:
    chunks = [b"abc", b"", b"def" * 1000]
    record = write_stream_atomic(tmp_path, "a/b.content", iter(chunks))
    whole = b"".join(chunks)
    assert record.sha256 == hashlib.sha256(whole).hexdigest()
    assert record.size == len(whole)
    assert sha256_file(tmp_path / "a/b.content") == (record.sha256, record.size)


def test_error_from_the_iterator_leaves_nothing_and_passes_through(tmp_path: Path) -> None:
    class Dropped(Exception):
        pass

    def chunks() -> Iterator[bytes]:
        yield b"first half"
        raise Dropped("connection reset")

    with pytest.raises(Dropped):
        write_stream_atomic(tmp_path, "ws/item.content", chunks())
    assert not (tmp_path / "ws/item.content").exists()
    assert temps(tmp_path) == []


_CRASH = """
import os, signal, sys
from pathlib import Path
from amlctl.fsio import write_stream_atomic

def chunks():
    yield b"partial new content"
    os.kill(os.getpid(), signal.SIGKILL)
    yield b"never"

write_stream_atomic(Path(sys.argv[1]), "ws/item.content", chunks())
"""


@pytest.mark.parametrize("existed", [False, True])
def test_kill_9_mid_write_leaves_only_a_temp_that_clean_temp_removes(
    tmp_path: Path, existed: bool
) -> None:
    root = tmp_path / "root"
    if existed:
        write_atomic(root, "ws/item.content", b"old content")
    done = subprocess.run([sys.executable, "-c", _CRASH, str(root)], check=False)
    assert done.returncode == -signal.SIGKILL
    final = root / "ws/item.content"
    assert final.read_bytes() == b"old content" if existed else not final.exists()
    [leftover] = temps(root)
    assert leftover.parent == root / "ws"
    assert leftover.read_bytes() == b"partial new content"
    assert mode(leftover) == 0o600
    (root / "ws" / "not-a-temp.json").write_bytes(b"keep")
    assert clean_temp(root) == [f"ws/{leftover.name}"]
    assert temps(root) == []
    assert (root / "ws" / "not-a-temp.json").exists()


def test_clean_temp_stays_under_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / f"{TEMP_PREFIX}theirs").write_bytes(b"x")
    (root / "link").symlink_to(outside)
    (tmp_path / f"{TEMP_PREFIX}sibling").write_bytes(b"x")
    assert clean_temp(root) == []
    assert (outside / f"{TEMP_PREFIX}theirs").exists()
    assert (tmp_path / f"{TEMP_PREFIX}sibling").exists()
    assert clean_temp(tmp_path / "missing") == []


def test_replace_keeps_old_content_until_the_rename(tmp_path: Path) -> None:
    final = tmp_path / "ws/item.json"
    write_atomic(tmp_path, "ws/item.json", b"old")
    seen: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for part in (b"n", b"e", b"w"):
            seen.append(final.read_bytes())  # what a reader sees while the write is under way
            yield part

    write_stream_atomic(tmp_path, "ws/item.json", chunks())
    assert seen == [b"old"] * 3
    assert final.read_bytes() == b"new"
    assert temps(tmp_path) == []


@pytest.mark.parametrize("writer", ["confined", "unconfined"])
def test_durability_order_fsync_file_replace_fsync_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def replace(*args: object, **kwargs: object) -> None:
        calls.append("replace")
        real_replace(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    if writer == "confined":
        write_atomic(tmp_path, "a/x.json", b"x")
    else:
        write_file_atomic(tmp_path / "x.json", b"x", mode=0o644)
    assert calls == ["fsync-file", "replace", "fsync-dir"]
    calls.clear()
    fsync_dir(tmp_path)
    assert calls == ["fsync-dir"]


def test_disk_errors_become_fs_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(FsError, match=r"cannot sync 'a/x.json': No space left on device"):
        write_atomic(tmp_path, "a/x.json", b"x")
    monkeypatch.undo()
    assert not (tmp_path / "a/x.json").exists()
    assert temps(tmp_path) == []


def test_confined_path_resolves_links(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root/in.json").write_bytes(b"x")
    (tmp_path / "root/out").symlink_to(tmp_path)
    assert confined_path(tmp_path / "root", "in.json") == tmp_path / "root/in.json"
    with pytest.raises(UnsafePathError, match="outside"):
        confined_path(tmp_path / "root", "out/secret")
    with pytest.raises(UnsafePathError):
        confined_path(tmp_path / "root", "../x")


def test_sha256_file_refuses_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "target").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    assert sha256_file(tmp_path / "target") == (hashlib.sha256(b"x").hexdigest(), 1)
    with pytest.raises(OSError):
        sha256_file(tmp_path / "link")


def test_pending_folders_sync_each_folder_once_per_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")

    monkeypatch.setattr(os, "fsync", fsync)
    folders = fsio.OpenFolders(tmp_path)
    for n in range(5):
        fsio.write_atomic(tmp_path, f"runs/{n}.json", b"{}", folders)
    fsio.write_atomic(tmp_path, "models/m.json", b"{}", folders)
    assert synced == ["file"] * 6  # each file's bytes at once, no folder yet
    assert folders.sync() == 2
    assert synced == ["file"] * 6 + ["folder"] * 2
    assert folders.sync() == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [f"{n}.json" for n in range(5)]


def test_files_written_through_open_folders_are_0600_whatever_the_umask(
    tmp_path: Path, umask: int
) -> None:
    folders = fsio.OpenFolders(tmp_path / "out")
    assert folders.umask == umask  # read once, from /proc, without setting it
    write_atomic(tmp_path / "out", "ws/a.json", b"a", folders)
    write_atomic(tmp_path / "out", "ws/b.json", b"b", folders)
    folders.sync()
    folders.close()
    os.umask(0o022)
    assert [mode(tmp_path / "out/ws" / name) for name in ("a.json", "b.json")] == [0o600] * 2
    assert temps(tmp_path / "out") == []


def test_a_temp_name_taken_already_is_skipped_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Temp names are a per-process part and a counter (no random draw per file): a name some
    # other writer holds is passed over, and its file left alone.
    monkeypatch.setattr(fsio, "_TEMP_NUMBERS", iter(range(5, 10)))
    taken = tmp_path / f"{TEMP_PREFIX}{fsio._TEMP_RUN}-5"
    taken.write_bytes(b"someone else's")
    write_atomic(tmp_path, "x.json", b"mine")
    assert (tmp_path / "x.json").read_bytes() == b"mine"
    assert taken.read_bytes() == b"someone else's"
    assert next(fsio._TEMP_NUMBERS) == 7
