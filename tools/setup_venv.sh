#!/usr/bin/env bash
# Create (if missing) the Python virtualenv used by tools/make_fixtures.py and
# install torch, numpy and safetensors into it. Safe to run repeatedly.
#
#   bash tools/setup_venv.sh
#   NN_TOOLS_VENV=/some/where bash tools/setup_venv.sh
#
# Prints the path of the venv's python on the last line of stdout.
set -euo pipefail

VENV="${NN_TOOLS_VENV:-$HOME/.venvs/nn-tools}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating virtualenv at $VENV" >&2
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi

if "$VENV/bin/python" -c 'import torch, numpy, safetensors' >/dev/null 2>&1; then
    echo "torch, numpy and safetensors already installed in $VENV" >&2
else
    echo "installing torch numpy safetensors into $VENV" >&2
    "$VENV/bin/python" -m pip install --upgrade pip >&2
    "$VENV/bin/python" -m pip install torch numpy safetensors >&2
fi

echo "$VENV/bin/python"
