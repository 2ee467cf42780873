"""Run untrusted Python (model completions) in a child interpreter: fresh temp dir, rlimits, an audit
hook refusing processes, sockets, native code and outside paths; output files capped by RLIMIT_FSIZE.
Defence in depth against accidents and casual abuse, not a boundary for a determined attacker."""

from __future__ import annotations

import builtins
import io
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

# Runs in the child as `python -I -S -B -c _PRELUDE prog work mem cpu fsize`. The hook and its
# helpers look up nothing global: every name they use is a default argument bound before user code
# runs, so patching builtins, os or their globals cannot make a refused operation pass, and user
# code never runs inside the hook (arguments are type-checked exactly, never via their methods).
_PRELUDE = r"""
import sys, posix, resource, signal

for _which, _soft, _hard in ((resource.RLIMIT_AS, int(sys.argv[3]), int(sys.argv[3])),
        (resource.RLIMIT_CPU, int(sys.argv[4]), int(sys.argv[4]) + 1),
        (resource.RLIMIT_FSIZE, int(sys.argv[5]), int(sys.argv[5])), (resource.RLIMIT_NOFILE, 64, 64),
        (resource.RLIMIT_NPROC, 32, 32), (resource.RLIMIT_CORE, 0, 0)):
    resource.setrlimit(_which, (_soft, _hard))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-long output becomes an OSError, not a core
with open(sys.argv[1], encoding="utf-8", errors="replace") as _fh:
    _code = compile(_fh.read(), "<program>", "exec")

def _resolve(path, getcwd=posix.getcwd, lstat=posix.lstat, readlink=posix.readlink, type_=type,
             bytes_=bytes, list_=list, reversed_=reversed, oserror=OSError, perm=PermissionError,
             encoding=sys.getfilesystemencoding()):
    if type_(path) is bytes_:
        path = path.decode(encoding, "surrogateescape")
    if not path.startswith("/"):
        path = getcwd() + "/" + path
    done, todo, hops = list_(), list_(reversed_(path.split("/"))), 0
    while todo:
        part = todo.pop()
        if part == "" or part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        here = "/" + "/".join(done + [part])
        try:
            is_link = (lstat(here).st_mode & 0o170000) == 0o120000
        except oserror:
            is_link = False
        if not is_link:
            done.append(part)
            continue
        hops += 1
        if hops > 40:
            raise perm("sandbox: symlink loop")
        target = readlink(here)
        if target.startswith("/"):
            done = list_()
        todo.extend(reversed_(target.split("/")))
    return "/" + "/".join(done)

def _check(path, roots, event, resolve=_resolve, type_=type, str_=str, bytes_=bytes, int_=int,
           perm=PermissionError):
    kind = type_(path)
    if kind is int_:
        return  # an fd the program already holds
    if kind is not str_ and kind is not bytes_:
        raise perm("sandbox: " + event + " needs a str path")
    real = resolve(path)
    if "/site-packages/" in real + "/" or "/dist-packages/" in real + "/":
        # Third-party packages next to the stdlib may carry native code; -S keeps them off sys.path.
        raise perm("sandbox: " + event + " of installed packages is not allowed")
    for root in roots:
        if real == root or real.startswith(root + "/"):
            return
    raise perm("sandbox: " + event + " outside the sandbox directory is not allowed")

def _hook(event, args, check=_check, writable=(_resolve(sys.argv[2]),),
          readable=(_resolve(sys.argv[2]),) + tuple(_resolve(p) for p in sys.path if p),
          refused=frozenset(("os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
              "os.kill", "os.killpg", "signal.pthread_kill", "subprocess.Popen", "resource.setrlimit",
              "resource.prlimit", "sys._current_frames", "sys.settrace", "sys.setprofile", "os.setxattr",
              "os.removexattr", "os.chroot", "syslog.openlog")),
          refused_prefixes=("socket.", "ctypes.", "_posixsubprocess.", "winreg.", "msvcrt."),
          refused_modules=frozenset(("ctypes", "_ctypes", "socket", "_socket", "subprocess", "_posixsubprocess",
              "multiprocessing", "_multiprocessing", "_posixshmem", "gc", "pty", "ssl", "_ssl", "asyncio",
              "_asyncio", "_xxsubinterpreters", "_xxinterpchannels", "syslog")),
          read_events=frozenset(("os.listdir", "os.scandir", "os.listxattr", "os.getxattr", "glob.glob")),
          write_events=frozenset(("os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.chmod", "os.chown",
              "os.link", "os.symlink", "os.truncate", "os.utime", "os.chdir", "os.chflags", "os.lchflags",
              "os.mkfifo", "os.mknod", "shutil.rmtree", "shutil.copyfile", "shutil.copytree", "shutil.move")),
          write_flags=posix.O_WRONLY | posix.O_RDWR | posix.O_APPEND | posix.O_CREAT | posix.O_TRUNC,
          type_=type, str_=str, int_=int, float_=float, tuple_=tuple, bool_=bool, none_=type(None),
          guarded=(_check, _resolve), perm=PermissionError):
    if type_(event) is not str_:
        return  # only sys.audit() from user code can send these; no guarded operation does
    if event in refused or event.startswith(refused_prefixes):
        raise perm("sandbox: " + event + " is not allowed")
    if event == "import":
        name = args[0]
        if type_(name) is not str_ or name.partition(".")[0] in refused_modules \
                or name.startswith(("_test", "_ctypes")):
            raise perm("sandbox: import of " + (name if type_(name) is str_ else "?") + " is not allowed")
    elif event == "open":
        path, mode, flags = args
        writing = (type_(mode) is str_ and ("w" in mode or "a" in mode or "x" in mode or "+" in mode)) \
            or (type_(flags) is int_ and flags & write_flags)
        check(path, writable if writing else readable, event)
    elif event in read_events:
        check(args[0] if args[0] is not None else ".", readable, event)
    elif event in write_events:
        for arg in args:
            # Numbers, times and dir_fd=None are not paths; anything else must be a str path,
            # because os.* audits the caller's object and a PathLike could answer differently twice.
            kind = type_(arg)
            if kind is not int_ and kind is not float_ and kind is not tuple_ and kind is not bool_ \
                    and kind is not none_:
                check(arg, writable, event)
    elif event == "object.__setattr__" and (args[0] is guarded[0] or args[0] is guarded[1]):
        # Tracebacks of refusals expose these helpers; their code and defaults must stay ours.
        raise perm("sandbox: changing the sandbox's own functions is not allowed")

sys.addaudithook(_hook)
del _hook, _check, _resolve, _fh, _which, _soft, _hard
sys.argv = ["<program>"]
_main = type(sys)("__main__")
sys.modules["__main__"] = _main
exec(_code, _main.__dict__)
"""


@dataclass(frozen=True)
class RunResult:
    stdout: str
    stderr: str
    returncode: int
    timed_out: bool
    output_truncated: bool


def _child_env(work: str) -> dict[str, str]:
    """PATH, a UTF-8 locale and TMPDIR=work: no tokens, HOME or proxy settings reach the program."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TMPDIR": work}


def _wait_unreaped(proc: subprocess.Popen, deadline: float) -> bool:
    """Wait for exit without reaping, so the process-group id cannot be recycled before killpg.
    Returns False when the deadline passed first."""
    delay = 0.0005
    while True:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): it has exited
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.02)


def _read_capped(path: str, limit: int) -> tuple[str, bool]:
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    return data[:limit].decode("utf-8", errors="replace"), len(data) > limit


def run_python(
    code: str, stdin: str, timeout_s: float = 2.0, memory_mb: int = 256, max_output_bytes: int = 64_000
) -> RunResult:
    """Run `code` as a program reading `stdin`; wall-clock timeout kills its whole process group."""
    with tempfile.TemporaryDirectory(prefix="trainpipe-sandbox-") as tmp:
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        paths = {name: os.path.join(tmp, name) for name in ("prog.py", "stdin", "stdout", "stderr")}
        with open(paths["prog.py"], "w", encoding="utf-8", errors="surrogatepass") as fh:
            fh.write(code)
        with open(paths["stdin"], "w", encoding="utf-8", errors="surrogatepass") as fh:
            fh.write(stdin)
        # One byte over the cap lets us tell "exactly at the cap" from "cut off".
        limits = [str(memory_mb * 1024 * 1024), str(math.ceil(timeout_s) + 1), str(max_output_bytes + 1)]
        argv = [sys.executable, "-I", "-S", "-B", "-X", "utf8", "-c", _PRELUDE, paths["prog.py"], work, *limits]
        with (
            open(paths["stdin"], "rb") as fin,
            open(paths["stdout"], "wb") as fout,
            open(paths["stderr"], "wb") as ferr,
        ):
            proc = subprocess.Popen(
                argv,
                stdin=fin,
                stdout=fout,
                stderr=ferr,
                cwd=work,
                env=_child_env(work),
                start_new_session=True,
                close_fds=True,
            )
        try:
            finished = _wait_unreaped(proc, time.monotonic() + timeout_s)
        finally:
            # Also on normal exit: anything the program left in its group dies with it.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        stdout, cut_out = _read_capped(paths["stdout"], max_output_bytes)
        stderr, cut_err = _read_capped(paths["stderr"], max_output_bytes)
    return RunResult(stdout, stderr, proc.returncode, not finished, cut_out or cut_err)


def run_trusted(code: str, stdin: str) -> str:
    """Run a program this package generated (never model output) in-process, returning its stdout.

    Only input() and print() are redirected, via the program's own globals, so other threads'
    sys.stdin/sys.stdout are untouched; used to compute expected outputs at generation time.
    """
    lines = iter(stdin.splitlines())
    out = io.StringIO()

    def feed(prompt: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError("EOF when reading a line") from None

    def emit(*args, sep=" ", end="\n", file=None, flush=False) -> None:
        builtins.print(*args, sep=sep, end=end, file=out)

    exec(code, {"__builtins__": builtins, "__name__": "__main__", "input": feed, "print": emit})
    return out.getvalue()
