"""The only module that knows the folder layout: stage paths, manifests, fingerprints, atomic publish, locks.

A stage writes into a temporary folder beside its output; `publish` moves it into place and writes
`manifest.json` last, so a folder without a manifest is never taken as done.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Iterator

from trainpipe.errors import UserError
from trainpipe.secrets import redact

MANIFEST = "manifest.json"


@dataclasses.dataclass(frozen=True)
class Layout:
    root: Path

    def output(self, stage) -> Path:
        """The published folder of `stage` (a trainpipe.stages.Stage, which declares it under the root)."""
        return self.root / stage.output

    def logs(self, stage: str) -> Path:
        return self.root / "logs" / stage

    def checkpoints(self, stage: str) -> Path:
        return self.root / "checkpoints" / stage

    @property
    def base_model(self) -> Path:
        return self.root / "models" / "base"


def canonical_json(obj: Any) -> str:
    return json.dumps(to_plain(obj), sort_keys=True, separators=(",", ":"), default=str)


def to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(canonical_json(list(parts)).encode()).hexdigest()[:16]


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()[:16]


def tree_digest(path: Path) -> str:
    """Cheap identity of a local folder or file: names, sizes and mtimes (weights are too big to hash each run)."""
    path = Path(path)
    if path.is_file():
        st = path.stat()
        return fingerprint(path.name, st.st_size, st.st_mtime_ns)
    items = sorted(
        (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*") if p.is_file()
    )
    return fingerprint(items)


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest, or None when absent or unreadable (a corrupt manifest means 'not done')."""
    try:
        with open(Path(folder) / MANIFEST, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) and "fingerprint" in data else None
    except (OSError, ValueError):
        return None


def write_json_atomic(path: Path, obj: Any) -> None:
    """Every JSON file trainpipe writes (manifests, stats, owner files) passes here, so it is redacted here."""

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    text = redact(json.dumps(to_plain(obj), indent=2, sort_keys=True, default=str))
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk must not leave half-written temporaries behind


def fsync_tree(folder: Path) -> None:
    """Files first, then their folders: a rename or a new entry is durable only once its folder is synced."""
    paths = sorted(Path(folder).rglob("*"))
    for p in paths:
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
    for d in [p for p in paths if p.is_dir()] + [Path(folder)]:
        fsync_dir(d)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):  # some network/FUSE filesystems cannot sync folders
            raise
    finally:
        os.close(fd)


def crash_window(point: str) -> None:
    """Test hook: TRAINPIPE_TEST_SLEEP_IN_<POINT>=seconds (PUBLISH, CHECKPOINT) pauses at a point where a crash
    is most harmful, so kill tests (tests/reliability, bench/stress_kill_resume.py) can land there."""
    seconds = os.environ.get(f"TRAINPIPE_TEST_SLEEP_IN_{point}")
    if seconds:
        time.sleep(float(seconds))


def temp_dir_for(dest: Path) -> Path:
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def recover(dest: Path) -> None:
    """Undo a publish cut short (the previous output comes back whole), and drop leftovers of dead writers.

    Call it holding the stage lock: then every .old-/.tmp- folder belongs to a writer that has died."""
    dest = Path(dest)
    if not dest.parent.exists():
        return
    olds = sorted(dest.parent.glob(f".{dest.name}.old-*"))
    if olds and (not dest.exists() or (read_manifest(dest) is None and read_manifest(olds[-1]) is not None)):
        # Cut short after moving the previous output aside: the new one (if any) never got its manifest.
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(olds[-1], dest)
        olds = olds[:-1]
    for leftover in olds + list(dest.parent.glob(f".{dest.name}.tmp-*")):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid == str(os.getpid()) or not _pid_alive(pid):
            shutil.rmtree(leftover, ignore_errors=True)


def publish(tmp: Path, dest: Path, manifest: dict, mode: str = "replace") -> None:
    """Move `tmp` into `dest` and write the manifest last. mode 'merge' keeps files of `dest` not in `tmp`.

    In replace mode the previous output moves aside with its manifest, so `recover` can restore it whole
    after a crash at any point before the new manifest is written."""
    tmp, dest = Path(tmp), Path(dest)
    fsync_tree(tmp)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if mode == "merge":
        dest.mkdir(parents=True, exist_ok=True)
        (dest / MANIFEST).unlink(missing_ok=True)
        for item in sorted(tmp.iterdir()):
            target = dest / item.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
        shutil.rmtree(tmp)
        write_json_atomic(dest / MANIFEST, manifest)
    else:
        _replace(tmp, dest, manifest)


def _replace(tmp: Path, dest: Path, manifest: dict) -> None:
    old = dest.parent / f".{dest.name}.old-{os.getpid()}"
    had_previous = dest.exists()
    if had_previous:
        os.replace(dest, old)
        crash_window("PUBLISH")
    try:
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
        crash_window("PUBLISH")
        write_json_atomic(dest / MANIFEST, manifest)
        fsync_dir(dest)
    except BaseException:
        # e.g. the disk filled up writing the manifest: put the previous output back now, not at the next run
        if had_previous:
            recover(dest)
        else:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def library_versions() -> dict[str, str]:

    out = {}
    for name in ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "trainpipe"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
        return True
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True


@contextmanager
def stage_lock(lock_path: Path, stage: str, wait: float = 0.0) -> Iterator[None]:
    """One writer per stage output. flock is released by the kernel when its holder dies, so stale locks
    from killed processes are taken over without any cleanup. `wait`: seconds to wait for a live holder."""
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path, "a+", encoding="utf-8")
    deadline = time.time() + wait
    try:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.time() < deadline:
                    time.sleep(0.2)
                    continue
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                raise UserError(f"stage {stage} is running in {holder}; wait for it or stop it first") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        fh.flush()
        yield
    finally:
        fh.close()
