import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from trainpipe.tasks.sandbox import RunResult, run_python, run_trusted


def _group_alive(pgid: int) -> list[int]:
    """Pids of processes still in process group pgid (zombies included)."""
    alive = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                alive.append(int(entry))
    return alive


def test_plain_program_reads_stdin_and_prints():
    result = run_python("s = input()\nprint(s[::-1], len(s))", "hello\n")
    assert result == RunResult("olleh 5\n", "", 0, False, False)


def test_stdlib_imports_and_files_inside_the_sandbox_work():
    code = (
        "import json, re, collections, math, itertools, heapq, dataclasses, tempfile, pathlib, traceback\n"
        "P = collections.namedtuple('P', 'a b')\n"
        "open('note.txt', 'w').write('kept')\n"
        "with tempfile.NamedTemporaryFile('w', delete=False) as fh:\n    fh.write('t')\n"
        "print(json.dumps([P(1, 2).b, open('note.txt').read(), pathlib.Path(fh.name).read_text()]))"
    )
    result = run_python(code, "")
    assert (result.stdout, result.returncode) == ('[2, "kept", "t"]\n', 0)


def test_exit_status_and_syntax_errors_are_reported():
    assert run_python("import sys\nsys.exit(3)", "").returncode == 3
    broken = run_python("def (", "")
    assert broken.returncode == 1
    assert "SyntaxError" in broken.stderr


def test_infinite_loop_times_out_and_group_is_gone():
    start = time.monotonic()
    result = run_python("import os\nprint(os.getpid(), flush=True)\nwhile True:\n    pass", "", timeout_s=0.5)
    elapsed = time.monotonic() - start
    assert result.timed_out and result.returncode == -9
    assert elapsed < 10.0  # killed long before the loop would end by itself
    assert _group_alive(int(result.stdout)) == []


def test_sleeping_program_times_out_on_wall_clock():
    start = time.monotonic()
    result = run_python("import time\ntime.sleep(30)", "", timeout_s=0.5)
    assert result.timed_out
    assert time.monotonic() - start < 10.0  # the program alone would sleep 30 s


def test_fork_bomb_is_refused_and_leaves_no_processes():
    code = "import os\nprint(os.getpid(), flush=True)\nwhile True:\n    os.fork()"
    result = run_python(code, "")
    assert result.returncode == 1 and not result.timed_out
    assert "sandbox: os.fork is not allowed" in result.stderr
    assert _group_alive(int(result.stdout)) == []


@pytest.mark.parametrize(
    "code, refusal",
    [
        ("import subprocess\nsubprocess.run(['true'])", "import of subprocess"),
        ("import os\nos.system('true')", "os.system"),
        ("import os\nos.execv('/bin/true', ['true'])", "os.exec"),
        ("import os\nos.posix_spawn('/bin/true', ['true'], {})", "os.posix_spawn"),
        ("import os\nos.kill(os.getppid(), 0)", "os.kill"),
        ("import socket\nsocket.socket()", "import of socket"),
        ("import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9')", "import of socket"),
        ("import ctypes", "import of ctypes"),
        ("import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))", "resource.setrlimit"),
    ],
)
def test_processes_signals_network_and_native_code_are_refused(code, refusal):
    result = run_python(code, "")
    assert result.returncode == 1
    assert f"sandbox: {refusal}" in result.stderr


def test_reading_outside_files_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-123")
    for code in (
        f"print(open({str(secret)!r}).read())",
        "print(open('/etc/passwd').read())",
        "import os\nprint(os.read(os.open('/etc/passwd', os.O_RDONLY), 100))",
        "import os\nprint(os.listdir('/'))",
        "import sys, os\nsp = os.path.join(os.path.dirname(os.__file__), 'site-packages')\nprint(os.listdir(sp))",
        f"import os\nos.symlink({str(secret)!r}, 'link')\nprint(open('link').read())",
    ):
        result = run_python(code, "")
        assert result.returncode == 1 and result.stdout == ""
        assert "PermissionError: sandbox:" in result.stderr


def test_writing_outside_is_refused(tmp_path):
    target = tmp_path / "out.txt"
    for code in (
        f"open({str(target)!r}, 'w').write('x')",
        "open('../escaped.txt', 'w').write('x')",
        f"import os\nos.close(os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT))",
        f"import os\nos.mkdir({str(tmp_path / 'dir')!r})",
    ):
        result = run_python(code, "")
        assert "PermissionError: sandbox:" in result.stderr
    assert sorted(os.listdir(tmp_path)) == []


def test_patching_python_helpers_does_not_open_the_sandbox():
    code = (
        "import builtins, posixpath, os\n"
        "posixpath.realpath = lambda p, **k: os.getcwd()\n"
        "builtins.isinstance = lambda *a: True\n"
        "print(open('/etc/passwd').read())"
    )
    result = run_python(code, "")
    assert result.returncode == 1 and result.stdout == ""
    assert "outside the sandbox directory" in result.stderr


def test_sandbox_helpers_cannot_be_rewritten_from_a_traceback():
    code = (
        "import os\n"
        "try:\n    os.open('/etc/passwd', 0)\n"
        "except PermissionError as e:\n"
        "    check = e.__traceback__.tb_next.tb_frame.f_locals['check']\n"
        "    check.__defaults__ = (lambda p: '/',) + check.__defaults__[1:]\n"
    )
    result = run_python(code, "")
    assert "changing the sandbox's own functions is not allowed" in result.stderr


def test_huge_output_is_truncated_without_blowing_up():
    result = run_python("print('x' * 10_000_000)", "", max_output_bytes=1000)
    assert result.output_truncated
    assert result.stdout == "x" * 1000
    looping = run_python("while True:\n    print('y' * 100)", "", max_output_bytes=5000)
    assert looping.output_truncated and not looping.timed_out
    assert len(looping.stdout) == 5000


def test_exact_cap_is_not_truncation():
    result = run_python("import sys\nsys.stdout.write('z' * 1000)", "", max_output_bytes=1000)
    assert (len(result.stdout), result.output_truncated) == (1000, False)


def test_memory_limit_raises_memory_error():
    result = run_python("b = bytearray(2 * 1024 ** 3)", "", memory_mb=128)
    assert result.returncode == 1
    assert "MemoryError" in result.stderr


def test_environment_is_minimal(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_should_not_leak")
    result = run_python("import os\nprint(sorted(os.environ))", "")
    assert result.stdout == "['LANG', 'LC_ALL', 'PATH', 'TMPDIR']\n"


def test_concurrent_runs_do_not_interfere():
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: run_python("print(int(input()) * 2)", f"{i}\n"), range(8)))
    assert [r.stdout for r in results] == [f"{2 * i}\n" for i in range(8)]


def test_run_trusted_redirects_only_input_and_print():
    assert run_trusted("a = input()\nb = input()\nprint(a, b, sep='-', end='!')", "1\n2\n") == "1-2!"
    with pytest.raises(EOFError):
        run_trusted("input()\ninput()", "only one line\n")
