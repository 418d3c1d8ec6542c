#!/usr/bin/env bash
# Installs what the mfa tests need: oathtool, the TOTP reference
# implementation the tests cross-check against (SSOKIT_TEST_OATHTOOL=1 makes
# its absence a test failure instead of a skip). Idempotent.
set -euo pipefail
export CI=true DEBIAN_FRONTEND=noninteractive

if command -v oathtool >/dev/null 2>&1; then
	exit 0
fi
if [ ! -d /var/lib/apt/lists ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial || true)" ]; then
	flock /tmp/apt.lock apt-get update -qq
fi
if ! flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends oathtool; then
	flock /tmp/apt.lock apt-get update -qq
	flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends oathtool
fi
command -v oathtool >/dev/null
