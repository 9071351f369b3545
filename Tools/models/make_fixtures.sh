#!/usr/bin/env bash
# Regenerates Tools/models/fixtures/ from scratch: pinned venv in Tools/models/.venv, then the seeded script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
exec "$venv/bin/python" "$here/make_fixtures.py" "$@"
