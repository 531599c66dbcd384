#!/usr/bin/env bash
# Create (or reuse) the project's virtualenv at .venv and install devkit into it, editable.
#
#   bash tests/setup/venv.sh            # devkit and its runtime dependencies
#   bash tests/setup/venv.sh test       # plus what the test suite needs
#
# Needs Python 3.11+ as python3. Reaches PyPI only.
set -euo pipefail
cd "$(dirname "$0")/../.."

python=${DEVKIT_PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "[venv] ERROR: devkit needs Python 3.11+, $python is $("$python" --version 2>&1)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
extras=""
if [ "${1:-}" = "test" ]; then
  extras="[test]"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
if [ "${1:-}" = "test" ]; then
  # The example application's own dependencies, for its tests.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -r examples/shop/services/api/requirements.txt -r examples/shop/services/worker/requirements.txt
fi
echo "[venv] $(.venv/bin/devkit --version) in .venv ($(.venv/bin/python --version))"
