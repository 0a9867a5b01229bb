#!/usr/bin/env bash
# One command to set up and start the app, one to set up and run every test:
#   bash run.sh app     install, then serve the app on http://localhost:8501 (no network needed after install)
#   bash run.sh test    install (plus Debian's chromium and CJK fonts for the browser test), lint (ruff,
#                       import-linter, deptry), then run pytest
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

install_python() {
  "$PY" -m pip install -q --disable-pip-version-check -r requirements.txt
  "$PY" -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
  # The project itself, editable: the lora-lens command, and `core` importable from bench/ and tests/.
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
}

check_code() {
  "$PY" -m ruff check .
  lint-imports
  deptry .
}

install_browser() {
  if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "noto sans cjk" \
    && fc-list 2>/dev/null | grep -qi "noto color emoji"; then return; fi
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null
}

case "${1:-}" in
  app)
    install_python
    exec "$PY" -m streamlit run app.py --server.headless true "${@:2}"
    ;;
  test)
    install_python
    "$PY" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
    install_browser
    check_code
    exec "$PY" -m pytest -q "${@:2}"
    ;;
  *)
    echo "usage: bash run.sh app|test" >&2
    exit 2
    ;;
esac
