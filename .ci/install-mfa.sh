#!/usr/bin/env bash
# Installs what the mfa tests need: oathtool (OATH Toolkit), the TOTP
# reference implementation the tests cross-check against. Run the mfa tests
# with SSOKIT_TEST_OATHTOOL=1 so a missing oathtool fails instead of
# skipping. Idempotent; apt runs under a shared lock because several
# installers may run at once on one machine.
set -euo pipefail
export CI=true DEBIAN_FRONTEND=noninteractive
if command -v oathtool >/dev/null 2>&1; then
  exit 0
fi
flock /tmp/apt.lock apt-get update -q
flock /tmp/apt.lock apt-get install -y -q --no-install-recommends oathtool
oathtool --version | head -n 1
