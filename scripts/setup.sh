#!/usr/bin/env bash
# One idempotent setup step for supportbot; `make run` and `make test` call it.
#   scripts/setup.sh          the two virtual environments (.venv: Python 3.11, .venv-rasa: Python 3.10)
#   scripts/setup.sh --test   also the system packages the tests drive (Chromium, docker-compose)
# A second run with unchanged requirements does nothing (stamp file under var/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { echo "setup: $*" >&2; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }
quiet_pip() { "$@" 2>&1 | grep -vE "is ignored: it is neither a file nor a directory|^\s*DEPRECATION|pip 23.1 will enforce|pypa/pip/issues/8559" || true; return "${PIPESTATUS[0]}"; }

find_python() {  # $1 = minor version, e.g. 3.10
  local v=$1 c
  for c in "python$v" "$HOME/.pyenv/versions/$v"*/bin/python "/usr/local/bin/python$v" "/usr/bin/python$v"; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$v'.split('.')))" 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    c=$(pyenv root)/versions/$(pyenv versions --bare 2>/dev/null | grep -E "^$v(\.|$)" | sort -V | tail -n1)/bin/python
    [ -x "$c" ] && { echo "$c"; return 0; }
  fi
  if command -v uv >/dev/null 2>&1; then
    c=$(uv python find "$v" 2>/dev/null) && [ -n "$c" ] && { echo "$c"; return 0; }
  fi
  return 1
}

mkdir -p var
stamp=var/.setup-stamp
fingerprint=$(cat requirements/*.txt requirements/*.lock scripts/setup.sh pyproject.toml | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ] && [ -x .venv/bin/supportbot ] && [ -x .venv-rasa/bin/rasa ]; then
  say "virtual environments up to date"
else
  PY311=$(find_python 3.11) || die "Python 3.11 not found. Install it (e.g. 'pyenv install 3.11' or 'uv python install 3.11') and run again."
  PY310=$(find_python 3.10) || die "Python 3.10 not found; Rasa 3.6 needs it. Install it (e.g. 'pyenv install 3.10.13' or 'uv python install 3.10') and run again."
  say "main environment .venv ($PY311)"
  [ -x .venv/bin/python ] || "$PY311" -m venv .venv
  quiet_pip .venv/bin/pip install -q --upgrade pip==23.2.1
  quiet_pip .venv/bin/pip install -q -r requirements/main.txt -c requirements/main.lock
  quiet_pip .venv/bin/pip install -q --no-deps --no-build-isolation -e .
  say "Rasa environment .venv-rasa ($PY310)"
  [ -x .venv-rasa/bin/python ] || "$PY310" -m venv .venv-rasa
  quiet_pip .venv-rasa/bin/pip install -q --upgrade pip==23.2.1 setuptools wheel
  quiet_pip .venv-rasa/bin/pip install -q -r requirements/rasa.txt -c requirements/rasa.lock
  # our Rasa components (rasa_plugins/) import from the repository root
  echo "$ROOT" > "$(.venv-rasa/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/supportbot-root.pth"
  echo "$fingerprint" > "$stamp"
  say "virtual environments ready"
fi

if [ "$want_test" = 1 ]; then
  need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
  if [ ${#need[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing ${need[*]}; install them with your package manager"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    say "installing system packages: ${need[*]}"
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi
