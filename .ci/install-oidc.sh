#!/usr/bin/env bash
# Installs the OpenID Provider used by the oidc interop tests (panva
# oidc-provider 9.13.3, pinned in oidc/testdata/op/package-lock.json) into
# oidc/testdata/op/node_modules. Idempotent. Afterwards run the tests with
#   SSOKIT_TEST_OIDC_PROVIDER=$PWD/oidc/testdata/op go test ./oidc/ -run Interop
set -euo pipefail
export CI=true DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/.."
dir=oidc/testdata/op

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	flock /tmp/apt.lock apt-get update
	flock /tmp/apt.lock apt-get install -y --no-install-recommends nodejs npm
fi

if [ -f "$dir/node_modules/oidc-provider/package.json" ] &&
	grep -q '"version": "9.13.3"' "$dir/node_modules/oidc-provider/package.json"; then
	echo "oidc-provider 9.13.3 already installed in $dir"
	exit 0
fi

cd "$dir"
if [ -f package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error
else
	npm install --save-exact --no-audit --no-fund --loglevel=error oidc-provider@9.13.3
fi
node -e 'import("oidc-provider").then(() => console.log("oidc-provider ready"))'
