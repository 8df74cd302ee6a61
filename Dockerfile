# syntax=docker/dockerfile:1
# Build stage: the package as a wheel, installed with its locked dependencies into a venv;
# with the otel extra, so setting OTEL_EXPORTER_OTLP_ENDPOINT is all tracing takes.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY aivideo ./aivideo
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
 && /opt/venv/bin/pip install -c requirements.lock "$(ls /tmp/wheels/aivideo-*.whl)[otel]"

# Runtime stage: the venv and the migrations, run as an unprivileged user.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin aivideo \
 && install -d -o aivideo -g aivideo /data
COPY --from=build /opt/venv /opt/venv
# aivideo.migrate looks for migrations/ beside the installed package.
COPY migrations /opt/venv/lib/python3.11/site-packages/migrations
ENV PATH=/opt/venv/bin:$PATH AIVIDEO_DATA_DIR=/data PYTHONUNBUFFERED=1
WORKDIR /data
USER aivideo
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=6s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/readyz', timeout=5)"]
CMD ["aivideo", "serve", "--host", "0.0.0.0", "--port", "8000"]
