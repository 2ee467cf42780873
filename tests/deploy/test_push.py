"""Hub upload against a local emulator: exact requests and files (weights and big files through LFS), token sources,
retries, a push killed mid-upload, clear user errors."""

from __future__ import annotations

import hashlib
import json
import logging
import socket

import pytest
from huggingface_hub import constants

from deploy.hub_emulator import HubEmulator
from trainpipe.config import DeployConfig
from trainpipe.deploy import push
from trainpipe.errors import UserError

TOKEN = "hf_PushTestTokenAbcdefghijklmnop1234"


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # conftest makes the suite offline; this is local
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # Xet's chunk store is not emulated; LFS is
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    emulator = HubEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def release(tmp_path):
    folder = tmp_path / "final"
    (folder / "adapter").mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# tiny\n")
    (folder / "model.safetensors").write_bytes(bytes(range(256)) * 4)
    (folder / "adapter" / "adapter_config.json").write_text('{"r": 4}')
    return folder


def deploy_cfg(hub, **kw) -> DeployConfig:
    return DeployConfig(push=True, repo_id="me/tiny", endpoint=hub.url, **kw)


def test_push_creates_repo_branch_and_uploads_exact_files(hub, release, caplog):
    caplog.set_level(logging.DEBUG)
    url = push.push_folder(release, deploy_cfg(hub, revision="v1", commit_message="first release"))

    assert url == f"{hub.url}/me/tiny/tree/v1"
    (create,) = hub.calls("/api/repos/create")
    assert create.json() == {"name": "tiny", "organization": "me", "visibility": "private"}
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    oid = hashlib.sha256((release / "model.safetensors").read_bytes()).hexdigest()
    assert [r.path for r in hub.requests] == [
        "/api/repos/create",
        "/api/models/me/tiny/branch/v1",
        "/api/validate-yaml",
        "/api/validate-yaml",
        "/api/models/me/tiny/preupload/v1",
        "/me/tiny.git/info/lfs/objects/batch",
        f"/lfs-upload/{oid}",
        f"/lfs-verify/{oid}",
        "/api/models/me/tiny/commit/v1",
    ]
    # The weights travel through LFS: the commit names them by sha256, the rest is inline.
    lines = [json.loads(line) for line in hub.calls("/commit/")[0].body.decode().splitlines()]
    assert {i["value"]["path"]: i["key"] for i in lines if i["key"] != "header"} == {
        "model.safetensors": "lfsFile",
        "README.md": "file",
        "config.json": "file",
        "adapter/adapter_config.json": "file",
    }
    assert hub.calls("/api/validate-yaml")[0].json() == {
        "content": (release / "README.md").read_text(),
        "repoType": "model",
    }
    (preupload,) = hub.calls("/preupload/")
    assert sorted(f["path"] for f in preupload.json()["files"]) == [
        "README.md",
        "adapter/adapter_config.json",
        "config.json",
        "model.safetensors",
    ]
    assert hub.files == {p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()}
    assert hub.commits == [{"summary": "first release", "description": ""}]
    assert TOKEN not in caplog.text


def test_public_push_to_main_and_token_from_file(hub, release, tmp_path, monkeypatch):
    token_file = tmp_path / "token"
    token_file.write_text("hf_FromTokenFileAbcdefghijklmnop99\n")
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(token_file))

    url = push.push_folder(release, deploy_cfg(hub, private=False))

    assert url == f"{hub.url}/me/tiny"
    assert hub.calls("/api/repos/create")[0].json()["visibility"] == "public"
    assert hub.calls("/commit/main")[0].headers["authorization"] == "Bearer hf_FromTokenFileAbcdefghijklmnop99"


def test_unauthorised_token_is_a_clear_error_without_retries(hub, release):
    hub.fail("", 401, 401)  # create_repo(exist_ok) then probes repo_info; both are refused
    with pytest.raises(UserError, match=r"401.*invalid or expired.*HF_TOKEN"):
        push.push_folder(release, deploy_cfg(hub), sleep=pytest.fail)
    assert len(hub.calls("/api/repos/create")) == 1
    assert hub.files == {}


def test_forbidden_namespace_names_the_missing_permission(hub, release):
    hub.fail("", 403, 403)
    with pytest.raises(UserError, match=r"403.*no write access.*'me'"):
        push.push_folder(release, deploy_cfg(hub), sleep=pytest.fail)


def test_transient_503_is_retried_then_succeeds(hub, release):
    hub.fail("/api/repos/create", 503)
    waits = []
    url = push.push_folder(release, deploy_cfg(hub), base_delay=0.01, sleep=waits.append)
    assert url == f"{hub.url}/me/tiny"
    assert len(hub.calls("/api/repos/create")) == 2
    assert waits == [0.01]
    assert set(hub.files) == {"README.md", "config.json", "model.safetensors", "adapter/adapter_config.json"}


def test_rejected_card_metadata_is_a_user_error(hub, release):
    hub.fail("/api/validate-yaml", 400)
    with pytest.raises(UserError, match=r"rejected the metadata of the model card.*deploy.base_model"):
        push.push_folder(release, deploy_cfg(hub), sleep=pytest.fail)
    assert hub.files == {}


def test_retries_are_bounded_with_exponential_backoff(hub, release):
    hub.fail("/api/repos/create", 503, 503, 503, 503)
    waits = []
    with pytest.raises(UserError, match=r"answered 503.*after 3 attempt"):
        push.push_folder(release, deploy_cfg(hub, push_retries=2), base_delay=0.01, sleep=waits.append)
    assert waits == [0.01, 0.02]
    assert len(hub.calls("/api/repos/create")) == 3


def test_connection_refused_is_a_network_error(release, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    waits = []
    cfg = DeployConfig(push=True, repo_id="me/tiny", endpoint=f"http://127.0.0.1:{port}", push_retries=1)
    with pytest.raises(UserError, match=r"cannot reach the Hub.*no connection.*after 2 attempt") as err:
        push.push_folder(release, cfg, base_delay=0.01, sleep=waits.append)
    assert waits == [0.01]
    assert TOKEN not in str(err.value)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"repo_id": None}, "needs deploy.repo_id"),
        ({"repo_id": "bad repo!"}, "not a valid Hub repo id"),
    ],
)
def test_bad_push_config(hub, release, change, message):
    with pytest.raises(UserError, match=message):
        push.push_folder(release, DeployConfig(push=True, endpoint=hub.url, **{"repo_id": "me/tiny", **change}))
    assert hub.requests == []


def test_missing_token_and_offline_mode(hub, release, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "absent"))
    with pytest.raises(UserError, match="needs a Hugging Face token"):
        push.push_folder(release, deploy_cfg(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserError, match="offline mode"):
        push.push_folder(release, deploy_cfg(hub))
    assert hub.requests == []


def test_large_files_travel_through_lfs_and_a_failed_object_upload_is_retried(hub, release):
    hub.lfs_threshold = 100  # the Hub sends big files of any type through LFS, not only weights
    (release / "tokenizer.json").write_text('{"vocab": "' + "x" * 200 + '"}')
    hub.fail("/lfs-upload/", 503)  # the object store answers 503 once
    push.push_folder(release, deploy_cfg(hub), sleep=pytest.fail)
    assert len(hub.calls("/lfs-upload/", "PUT")) == 3  # two objects, one of them twice
    assert hub.files == {p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()}
    assert set(hub.lfs) == {
        hashlib.sha256((release / n).read_bytes()).hexdigest() for n in ("model.safetensors", "tokenizer.json")
    }


def test_push_killed_mid_upload_publishes_nothing_and_completes_on_rerun(hub, release):
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import REPO

    # Big enough that the client is still writing the object when it is killed (socket buffers hold MBs).
    (release / "model.safetensors").write_bytes(os.urandom(16 * 1024 * 1024))
    hub.hold("/lfs-upload/")
    code = (
        "import sys; from pathlib import Path; from trainpipe.config import DeployConfig; "
        "from trainpipe.deploy import push; "
        f"push.push_folder(Path(sys.argv[1]), DeployConfig(push=True, repo_id='me/tiny', endpoint='{hub.url}'))"
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_HUB_DISABLE_XET": "1",
        "HF_TOKEN": TOKEN,
        "PYTHONPATH": str(REPO / "src"),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(release)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert hub.entered.wait(120), "the child never reached the object upload"
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    hub.release()
    deadline = time.time() + 30
    while not hub.calls("/lfs-upload/", "PUT") and time.time() < deadline:
        time.sleep(0.05)  # the held handler reads what the dead client sent, and keeps none of it
    assert hub.commits == [] and hub.files == {} and hub.lfs == {}
    push.push_folder(release, deploy_cfg(hub))
    assert len(hub.commits) == 1
    assert hub.files == {p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()}
