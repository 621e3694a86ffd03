#!/usr/bin/env bash
# Runs the Vault-client compatibility suite (real hvac against the real coffer-server binary).
# `./dev test` calls this. The venv lives at $COFFER_VENV (default: <repo>/.dev/venv) and is
# (re)populated only when requirements.txt changes, so repeat runs start in seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${COFFER_VENV:-$repo/.dev/venv}"
stamp="$venv/.coffer-vault-compat-requirements"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! cmp -s "$here/requirements.txt" "$stamp"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$stamp"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/coffer/target-dp}"
cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
