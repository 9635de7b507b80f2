#!/usr/bin/env bash
# Build bench/.venv-ref: the reference server (jupyter-collaboration, pinned) that
# bench/run.py compares Tandem against. Does nothing if it is already there.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-ref"
VERSION="5.0.4"
PYTHON="${PYTHON:-python3}"

if [ -x "$VENV/bin/jupyter-server" ] && [ -f "$VENV/.installed-$VERSION" ]; then
    exit 0
fi

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "jupyter-collaboration==$VERSION"
# The reference serves collaboration through these two server extensions, which
# their packages enable with config files in the venv's etc/jupyter.
for ext in jupyter_server_ydoc jupyter_server_fileid; do
    if ! grep -rqs "\"$ext\": true" "$VENV/etc/jupyter/jupyter_server_config.d/"; then
        echo "setup_reference.sh: $ext is not enabled in $VENV/etc/jupyter" >&2
        exit 1
    fi
done
# bench/lab.py opens JupyterLab on the reference; jupyter-collaboration depends on it.
if [ ! -x "$VENV/bin/jupyter-lab" ]; then
    echo "setup_reference.sh: JupyterLab is missing from $VENV" >&2
    exit 1
fi
touch "$VENV/.installed-$VERSION"
echo "reference server ready: $VENV/bin/jupyter-server (jupyter-collaboration $VERSION)"
