# Hugging Face Spaces (sdk: docker, app_port: 8501) or any Docker host:
#   docker build -t mbti-ko . && docker run --rm -p 8501:8501 mbti-ko
# The Space repository itself: bash scripts/make_space.sh OUT_DIR (README, "Hugging Face Spaces, step by step").
# scripts/check_space.sh (CI) serves what this image holds without Docker: the same files (the Space repository
# minus .dockerignore), requirements, ENV, HOME and CMD, as a non-root user with a read-only app folder.
# Serves the app on the shipped checkpoints/ (override with -e MBTI_CHECKPOINT_DIR=/path or
# -e MBTI_MFT_CHECKPOINT=<folder or Hub id> -e MBTI_FT_CHECKPOINT=<folder or Hub id>).
FROM python:3.11-slim

# The CPU build of torch: the extra index offers torch==X+cpu, which pip prefers to the CUDA wheel on PyPI.
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true

# Spaces show the app in an iframe on huggingface.co while it is served from *.hf.space, and browsers block the
# XSRF cookie of such a cross-site iframe: with Streamlit's XSRF protection on, every upload (the Batch page)
# gets a 403. Spaces' documentation (https://huggingface.co/docs/hub/spaces-cookie-limitations) says to turn it
# off, so this image does, and only this image (local runs keep Streamlit's default, protection on).
# Trade-off: another web site could make a visitor's browser send a file to this app. The app has no logins and
# keeps nothing; an upload is only scored for that browser's own session, so such a request gains nothing. The
# alternative, server.xsrfCookieSameSite=none, keeps the check but fails in browsers that block third-party
# cookies (Safari, private windows). Uploads stay capped at 20 MB (server.maxUploadSize, .streamlit/config.toml).
ENV STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION=false

# Korean glyphs for anything rendered server-side (and for screenshots taken inside the image).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-nanum \
    && rm -rf /var/lib/apt/lists/*

# Spaces runs the container as user 1000.
RUN useradd --create-home --uid 1000 user
ENV HOME=/home/user PATH=/home/user/.local/bin:$PATH
WORKDIR /home/user/app

# Only what serving needs (no training, export, test or browser packages): requirements.txt adds those.
COPY requirements-serve.txt .
RUN pip install -r requirements-serve.txt

# Owned by root: the app only reads its folder (Hub and pip caches go to HOME).
COPY . .
USER user

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app.py", "--server.port", "8501", "--server.address", "0.0.0.0"]
