# Hugging Face Spaces (sdk: docker, app_port: 8501) or any Docker host:
#   docker build -t mbti-ko . && docker run --rm -p 8501:8501 mbti-ko
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

# Korean glyphs for anything rendered server-side (and for screenshots taken inside the image).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-nanum \
    && rm -rf /var/lib/apt/lists/*

# Spaces runs the container as user 1000.
RUN useradd --create-home --uid 1000 user
ENV HOME=/home/user PATH=/home/user/.local/bin:$PATH
WORKDIR /home/user/app

COPY --chown=user requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=user . .
USER user

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app.py", "--server.port", "8501", "--server.address", "0.0.0.0"]
