#!/usr/bin/env bash
# Install everything the project needs on a fresh machine: uv, the Python workspace (from
# the lock file), the PostgreSQL server binaries, Prometheus, Alertmanager, Chromium and
# poppler-utils (the web view's tests and the demo's screenshots), Pango and fonts (PDF
# review packs), and the Kafka jars.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  echo "==> installing uv" >&2
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
echo "==> installing the Python workspace (uv sync --frozen)" >&2
uv sync --all-packages --frozen --quiet

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "==> installing PostgreSQL (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  # The dashboard test runs a real Prometheus on a free port; promtool checks the alert rules.
  echo "==> installing Prometheus (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # the tests start their own; the packaged system service is not wanted where systemd runs
  if [ -d /run/systemd/system ]; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
fi
if ! command -v prometheus-alertmanager >/dev/null 2>&1; then
  # make bench (g) and its test compare our breach-to-email latency with Prometheus + Alertmanager
  echo "==> installing Alertmanager (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
  if [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true
  fi
fi
if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
  # The web view's tests render its pages (and PDFs) in headless Chromium, driven by the
  # Python playwright package with executable_path=/usr/bin/chromium (playwright's own
  # browser download is not used); pdftoppm turns PDF pages into images.
  echo "==> installing Chromium and poppler-utils (Debian packages)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium poppler-utils >/dev/null
fi
if ! ldconfig -p | grep -q libpangoft2-1.0 || ! fc-list 2>/dev/null | grep -qi dejavu; then
  # The web view renders review packs to PDF with WeasyPrint, which draws text with Pango.
  echo "==> installing Pango and the DejaVu fonts (Debian packages, for PDF review packs)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    fontconfig fonts-dejavu-core >/dev/null
fi
echo "==> fetching the Kafka jars (cached under ~/.cache/kpi-cascade)" >&2
uv run --frozen python -m kpi_localinfra fetch-kafka
