# syntax=docker/dockerfile:1
# One image per service, built from the repository root:
#
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=goals          --build-arg PORT=8001 -t kpi-cascade/goals .
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=metrics-ingest --build-arg PORT=8002 -t kpi-cascade/metrics-ingest .
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=evaluator      --build-arg PORT=8003 -t kpi-cascade/evaluator .
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=notifier       --build-arg PORT=8004 -t kpi-cascade/notifier .
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=web            --build-arg PORT=8005 -t kpi-cascade/web .
#
# SERVICE is the folder under services/; the workspace package is kpi-$SERVICE and so is its
# console script (kpi-goals, kpi-metrics-ingest, kpi-evaluator, kpi-notifier, kpi-web).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# --- build: resolve the locked dependencies of one service into /app/.venv ---------------
FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# The workspace's manifests first: uv reads every member's pyproject.toml to resolve the
# workspace, so the third-party layer below is rebuilt only when the lock or a manifest changes.
COPY pyproject.toml uv.lock ./
COPY libs/kpi-common/pyproject.toml libs/kpi-common/pyproject.toml
COPY services/goals/pyproject.toml services/goals/pyproject.toml
COPY services/metrics-ingest/pyproject.toml services/metrics-ingest/pyproject.toml
COPY services/evaluator/pyproject.toml services/evaluator/pyproject.toml
COPY services/notifier/pyproject.toml services/notifier/pyproject.toml
COPY services/web/pyproject.toml services/web/pyproject.toml
COPY cli/pyproject.toml cli/pyproject.toml
COPY deploy/local/pyproject.toml deploy/local/pyproject.toml
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=<goals|metrics-ingest|evaluator|notifier|web>" >&2; exit 1)
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package "kpi-${SERVICE}"

# Then the code of the shared library and of this one service, installed non-editable so the
# runtime image needs nothing but the virtual environment.
COPY libs/kpi-common/ libs/kpi-common/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "kpi-${SERVICE}"

# --- runtime: the virtual environment, a non-root user, nothing else ----------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG PORT=8001
LABEL org.opencontainers.image.title="kpi-cascade ${SERVICE}"
# The web image renders review packs to PDF with WeasyPrint, which needs Pango and a font.
RUN if [ "${SERVICE}" = "web" ]; then \
      apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 \
        libpangoft2-1.0-0 fontconfig fonts-dejavu-core && rm -rf /var/lib/apt/lists/*; \
    fi
RUN groupadd --system --gid 10001 kpi \
    && useradd --system --uid 10001 --gid kpi --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin kpi
COPY --from=build --chown=root:root /app/.venv /app/.venv
COPY --chown=root:root deploy/docker/healthcheck.py /app/healthcheck.py
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KPI_SERVICE=${SERVICE} \
    KPI_SERVICE_COMMAND=kpi-${SERVICE} \
    KPI_HEALTH_PORT=${PORT} \
    KPI_HOST=0.0.0.0 \
    KPI_LOG_FORMAT=json
WORKDIR /app
USER 10001:10001
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "/app/healthcheck.py"]
# Shell form only to expand the build-time command name; exec hands PID 1 to the service so
# it receives SIGTERM directly and shuts down cleanly.
CMD ["sh", "-c", "exec \"$KPI_SERVICE_COMMAND\""]
