#!/usr/bin/env bash
# A headless browser for the UI tests (tests/docker/test_ui.py): Debian's chromium, driven by
# Playwright with the system browser (Playwright's own browser download cannot reach its CDN here).
# Idempotent and quick when chromium is already installed.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "[browser] $(/usr/bin/chromium --version 2>/dev/null | head -1) (already installed)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3; do
  if apt-get install -y --no-install-recommends chromium chromium-driver >/tmp/devkit-browser-apt.log 2>&1; then
    break
  fi
  if [ "$attempt" = 3 ]; then
    tail -20 /tmp/devkit-browser-apt.log >&2
    echo "[browser] ERROR: apt-get install chromium failed" >&2
    exit 1
  fi
  apt-get update >/dev/null 2>&1 || true
done
echo "[browser] $(/usr/bin/chromium --version 2>/dev/null | head -1)"
