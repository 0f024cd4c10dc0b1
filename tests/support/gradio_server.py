"""``gradio_app.py`` served for real on 127.0.0.1 (a free port, via GRADIO_SERVER_NAME / GRADIO_SERVER_PORT) for
tests that call it with gradio_client."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120  # imports gradio, torch and transformers on 2 busy cores


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served_gradio(checkpoints: Path, log_dir: Path, **extra_env):
    """Start ``gradio_app.py`` on ``checkpoints`` (MBTI_CHECKPOINT_DIR), yield a connected ``Client``, stop it."""
    from gradio_client import Client

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MBTI_MFT_CHECKPOINT", "MBTI_FT_CHECKPOINT")}
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), MBTI_CHECKPOINT_DIR=str(checkpoints),
               GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1", **extra_env)
    log = log_dir / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, str(ROOT / "gradio_app.py")], cwd=str(ROOT), env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"gradio_app.py exited with {server.returncode}:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"gradio_app.py did not listen on 127.0.0.1:{port}:\n{log.read_text()}")
                time.sleep(0.3)
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        server.terminate()
        server.wait(timeout=30)
