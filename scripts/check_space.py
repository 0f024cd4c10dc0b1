"""What the Hugging Face Space (the Docker image) would serve, checked without Docker: ``bash scripts/check_space.sh``.

1. Builds the Space repository with ``scripts/make_space.sh`` (``git archive HEAD``, or ``--worktree``) and fails
   when a file over 10 MB would reach the Hub outside Git LFS: every such file must match an LFS rule of the Space's
   ``.gitattributes`` (``git check-attr``), and no committed blob may be over 10 MB.
2. Takes exactly the files the image gets: the Space repository minus ``.dockerignore`` (Docker's rules), as a
   read-only app folder owned by root.
3. Installs the requirements file the Dockerfile installs into a fresh venv (the host's pip settings, so only
   the package registry is used) and checks that no test or browser package came with it.
4. Serves the Dockerfile's CMD (port and address changed to a free local port) from that folder as a non-root user,
   with the Dockerfile's ENV (XSRF protection off, as in the Space) and a fresh HOME like the image's.
5. Waits for ``/_stcore/health``, then drives Debian's chromium (Playwright): one prediction on the Predict page
   (its type must be the shipped MFT model's), one Batch upload scored and offered for download, and every page
   opened without an exception element; the server log must hold no traceback.

Exit status 0 when everything held, 1 when a check failed, 2 for a setup problem. ``--keep`` leaves the work folder.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HUB_LIMIT = 10_000_000  # bytes: the Hub refuses larger files outside Git LFS
RUN_USER = "mbti-space"
MESSAGE = "내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까 미리 준비하자"
BATCH_CSV = "id,message\n1,갑자기 바다 보고 싶어졌어 ㅋㅋ 지금 출발할 사람?\n2,😀😀😀\n3,주말엔 집에서 혼자 책 읽는 게 제일 좋아요\n"
PAGES = ("", "fill-mask", "batch", "results", "sentiment", "embeddings", "probing", "about")
NOT_FOR_SERVING = ("pytest", "playwright", "gradio", "accelerate", "onnxscript", "openai", "sklearn")


class CheckFailed(Exception):
    pass


def say(message: str) -> None:
    print(f"check_space: {message}", flush=True)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, text=True, **kwargs)


# -- the Dockerfile and .dockerignore ---------------------------------------------------------------------------
def read_dockerfile(path: Path) -> dict:
    """ENV (in order), the pip requirements file, HOME and CMD of a simple Dockerfile."""
    lines, current = [], []
    for raw in path.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):  # comment lines vanish, even inside a continued instruction
            continue
        current.append(stripped.removesuffix("\\").strip())
        if not stripped.endswith("\\"):
            lines.append(" ".join(current))
            current = []
    env: dict[str, str] = {}
    cmd, requirements = None, None
    for line in lines:
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
        elif instruction == "CMD":
            cmd = json.loads(rest)
        elif instruction == "RUN" and (match := re.search(r"pip install (?:.* )?-r (\S+)", rest)):
            requirements = match.group(1)
    if not (cmd and requirements and "HOME" in env):
        raise CheckFailed(f"{path}: expected ENV HOME, a `RUN pip install -r FILE` and a JSON CMD")
    return {"env": env, "cmd": cmd, "requirements": requirements}


def dockerignore_patterns(path: Path) -> list[tuple[bool, re.Pattern]]:
    """(exclude?, regex) per line of a .dockerignore, in order (Docker: the last matching line decides)."""
    patterns = []
    if not path.is_file():
        return patterns
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        text = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex, i = "", 0
        while i < len(text):
            if text.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif text.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif text[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif text[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(text[i]), i + 1
        # A matching folder excludes everything under it.
        patterns.append((not include, re.compile(f"^{regex}(?:/.*)?$")))
    return patterns


def ignored(relative: str, patterns) -> bool:
    verdict = False
    for exclude, regex in patterns:
        if regex.match(relative):
            verdict = exclude
    return verdict


# -- steps ------------------------------------------------------------------------------------------------------
def build_space(work: Path, worktree: bool) -> Path:
    space = work / "space"
    run(["bash", str(ROOT / "scripts" / "make_space.sh"), str(space), *(["--worktree"] if worktree else [])])
    return space


def check_lfs(space: Path) -> dict:
    """Every file over 10 MB matches an LFS rule of the Space's .gitattributes; no committed blob is over 10 MB."""
    files = run(["git", "-C", str(space), "ls-files", "-z"], capture_output=True).stdout.split("\0")
    big = [name for name in files if name and (space / name).stat().st_size > HUB_LIMIT]
    outside = []
    for name in big:
        attribute = run(["git", "-C", str(space), "check-attr", "filter", "--", name], capture_output=True).stdout
        if not attribute.strip().endswith(": filter: lfs"):
            outside.append(name)
    blobs = [line.split("\t", 1) for line in run(["git", "-C", str(space), "ls-tree", "-r", "-l", "HEAD"],
                                                  capture_output=True).stdout.splitlines()]
    plain_big = [path for meta, path in blobs if meta.split()[3] != "-" and int(meta.split()[3]) > HUB_LIMIT]
    if outside or plain_big:
        raise CheckFailed(f"files over 10 MB that the Space's LFS rules do not catch: {outside or plain_big}")
    lfs = run(["git", "-C", str(space), "lfs", "ls-files", "-n"], capture_output=True).stdout.split()
    say(f"LFS: {len(big)} files over 10 MB, all matched by LFS rules; {len(lfs)} files stored in LFS; "
        f"no committed blob over 10 MB")
    return {"over_10mb": big, "in_lfs": lfs}


def image_files(space: Path, app: Path) -> int:
    """Copy the Space repository minus .dockerignore (what `COPY . .` puts in the image) to ``app``."""
    patterns = dockerignore_patterns(space / ".dockerignore")
    count = 0
    for path in sorted(space.rglob("*")):
        relative = path.relative_to(space).as_posix()
        if relative == ".git" or relative.startswith(".git/") or not path.is_file():
            continue
        if ignored(relative, patterns):
            continue
        target = app / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        count += 1
    for required in ("app.py", "navigation.py", "checkpoints/mft/model.safetensors", ".streamlit/config.toml"):
        if not (app / required).is_file():
            raise CheckFailed(f"the image would lack {required} (.dockerignore?)")
    return count


def make_read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)


def base_python(user: tuple[int, int] | None) -> str:
    """A Python >= 3.11 with venv that ``user`` may run (a venv links to its interpreter: one under /root, e.g.
    pyenv's, is out of the app user's reach)."""
    candidates = ["/usr/local/bin/python3.11", "/usr/local/bin/python3", "/usr/bin/python3.11", "/usr/bin/python3",
                  shutil.which("python3") or "", sys.executable]
    kwargs = {"user": user[0], "group": user[1], "extra_groups": []} if user else {}
    for python in dict.fromkeys(c for c in candidates if c and Path(c).is_file()):
        probe = subprocess.run([python, "-c", "import sys, venv, ensurepip; assert sys.version_info >= (3, 11)"],
                               capture_output=True, cwd="/", **kwargs)
        if probe.returncode == 0:
            return python
    raise CheckFailed(f"no Python >= 3.11 with venv that the app user can run among {candidates}: install the "
                      "system's python3 (>= 3.11) and python3-venv")


def serve_venv(work: Path, requirements: Path, user: tuple[int, int] | None) -> Path:
    python = base_python(user)
    venv = work / "venv"
    run([python, "-m", "venv", str(venv)])
    started = time.perf_counter()
    run([str(venv / "bin" / "pip"), "install", "-qq", "--disable-pip-version-check", "-r", str(requirements)])
    say(f"fresh venv ({python}): {requirements.name} installed in {time.perf_counter() - started:.0f} s")
    found = run([str(venv / "bin" / "python"), "-c",
                 "import importlib.util as u, sys; print(' '.join(m for m in sys.argv[1:] if u.find_spec(m)))",
                 *NOT_FOR_SERVING], capture_output=True).stdout.split()
    if found:
        raise CheckFailed(f"the serving requirements pull in packages serving does not need: {found}")
    return venv


def run_as() -> tuple[int, int] | None:
    """(uid, gid) of the unprivileged user the app runs as (created when missing); None when not root."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(RUN_USER)
    except KeyError:
        run(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_USER])
        entry = pwd.getpwnam(RUN_USER)
    return entry.pw_uid, entry.pw_gid


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(cmd: list[str], port: int) -> list[str]:
    """The Dockerfile's CMD with its port and address replaced (local, free port)."""
    out, skip = [], False
    for i, item in enumerate(cmd):
        if skip:
            skip = False
            continue
        if item in ("--server.port", "--server.address"):
            out += [item, str(port) if item == "--server.port" else "127.0.0.1"]
            skip = True
        elif item.startswith(("--server.port=", "--server.address=")):
            out.append(f"--server.port={port}" if item.startswith("--server.port") else "--server.address=127.0.0.1")
        else:
            out.append(item)
    if "--server.port" not in " ".join(out):
        out += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    return out


def wait_healthy(url: str, process, log: Path, timeout: float = 300) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise CheckFailed(f"the app exited with {process.returncode} before serving:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200 and response.read().strip() == b"ok":
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.3)
    raise CheckFailed(f"no answer from {url}/_stcore/health within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def drive_browser(url: str, expected_type: str) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.support.browser_timing import CHROMIUM, launch_browser, send_message, wait_idle

    if not Path(CHROMIUM).is_file():
        raise CheckFailed(f"{CHROMIUM} is missing (apt-get install chromium fonts-nanum)")
    out: dict = {}
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1200}, locale="ko-KR")
        page.goto(url)
        page.get_by_test_id("stChatInputTextArea").wait_for(timeout=120_000)
        out["prediction_s"] = round(send_message(page, MESSAGE, timeout_ms=120_000), 2)
        shown = page.locator(".mbti-type").first.inner_text().strip()
        if shown != expected_type:
            raise CheckFailed(f"the Predict page shows {shown}, the shipped MFT model says {expected_type}")
        out["predicted_type"] = shown

        page.goto(f"{url}/batch")
        page.locator("input[type=file]").wait_for(state="attached", timeout=60_000)
        page.locator("input[type=file]").set_input_files(
            {"name": "messages.csv", "mimeType": "text/csv", "buffer": BATCH_CSV.encode("utf-8")})
        page.get_by_role("button", name="분석 시작 · Score").wait_for(timeout=60_000)
        wait_idle(page)
        page.get_by_role("button", name="분석 시작 · Score").click()
        page.get_by_text("Scored 2 of 3 rows").first.wait_for(timeout=120_000)
        page.get_by_test_id("stDownloadButton").first.wait_for(timeout=30_000)
        wait_idle(page)
        out["batch"] = "uploaded, scored 2 of 3 rows (1 emoji-only row reported), download offered"

        out["pages"] = {}
        for name in PAGES:
            page.goto(f"{url}/{name}")
            page.get_by_test_id("stSidebar").wait_for(timeout=60_000)
            wait_idle(page, 120_000)
            errors = page.get_by_test_id("stException").count()
            if errors:
                raise CheckFailed(f"page /{name} shows {errors} exception element(s)")
            out["pages"][name or "predict"] = "ok"
        browser.close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worktree", action="store_true", help="the working tree instead of HEAD (uncommitted work)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (printed) for a look")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="check-space-"))
    work.chmod(0o755)
    process, log = None, work / "server.log"
    try:
        space = build_space(work, args.worktree)
        lfs = check_lfs(space)
        docker = read_dockerfile(space / "Dockerfile")
        app = work / "app"
        count = image_files(space, app)
        say(f"image files: {count} (the Space repository minus .dockerignore) in {app}")
        user = run_as()
        venv = serve_venv(work, app / docker["requirements"], user)
        make_read_only(app)
        home = work / "home" / Path(docker["env"]["HOME"]).name
        home.mkdir(parents=True)
        if user:
            os.chown(home, *user)
        env = {"PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        env.update({k: v for k, v in docker["env"].items() if not k.startswith("PIP_") and k not in ("PATH", "HOME")})
        env["HOME"] = str(home)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = server_command(docker["cmd"], port)
        say(f"serving as {RUN_USER if user else 'the current user'} (read-only app folder, HOME={home}): "
            f"{' '.join(command)}")
        with open(log, "w") as handle:
            kwargs = {"user": user[0], "group": user[1], "extra_groups": []} if user else {}
            process = subprocess.Popen(command, cwd=app, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                       start_new_session=True, **kwargs)
        health_s = wait_healthy(url, process, log)
        say(f"/_stcore/health answered after {health_s:.1f} s")
        from mbti_core.onnx_predictor import load_predictor

        expected = load_predictor(app / "checkpoints" / "mft").predict([MESSAGE])[0]["type"]
        browser = drive_browser(url, expected)
        say(f"browser: prediction {browser['predicted_type']} in {browser['prediction_s']} s; {browser['batch']}; "
            f"pages without exceptions: {', '.join(browser['pages'])}")
        output = log.read_text(encoding="utf-8", errors="replace")
        if "Traceback" in output:
            raise CheckFailed(f"the server log holds a traceback:\n{output[-3000:]}")
        say(f"passed in {time.perf_counter() - started:.0f} s "
            f"({len(lfs['in_lfs'])} LFS files, {count} image files, served as non-root from a read-only folder)")
        return 0
    except CheckFailed as error:
        say(f"FAILED: {error}")
        return 1
    except (subprocess.CalledProcessError, OSError) as error:
        say(f"setup problem: {error}")
        return 2
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if args.keep:
            say(f"work folder kept: {work}")
        else:
            app = work / "app"
            for path in [app, *app.rglob("*")] if app.is_dir() else []:  # the read-only folder, to remove it
                if path.is_dir() and not path.is_symlink():
                    path.chmod(0o755)
            shutil.rmtree(work, ignore_errors=True)
        say(f"done in {time.perf_counter() - started:.0f} s (work folder {'kept' if args.keep else 'removed'})")


if __name__ == "__main__":
    sys.exit(main())
