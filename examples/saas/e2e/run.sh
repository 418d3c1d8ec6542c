#!/usr/bin/env bash
# Runs the demo's real-browser suite: builds the demo, then runs every
# *.test.mjs under node's test runner against it in headless Debian
# Chromium. Screenshots of each step land in .artifacts/e2e/. Exits non-zero
# when a scenario fails or a peer is missing. Install first with
# .ci/install-e2e.sh, .ci/install-saml.sh and .ci/install-oidc.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi

die() { printf 'e2e: %s\n' "$*" >&2; exit 1; }
command -v node >/dev/null || die "node is missing (run .ci/install-e2e.sh)"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || die "playwright-core needs Node.js 20 or newer, found $(node --version)"
[ -x /usr/bin/chromium ] || die "chromium is missing (run .ci/install-e2e.sh)"
[ -f "$here/node_modules/playwright-core/package.json" ] || die "playwright-core is missing (run .ci/install-e2e.sh)"
[ -f "$here/node_modules/axe-core/package.json" ] || die "axe-core is missing (run .ci/install-e2e.sh)"
[ -d /usr/share/simplesamlphp/www ] || die "SimpleSAMLphp is missing (run .ci/install-saml.sh)"
[ -f "$root/oidc/testdata/op/node_modules/oidc-provider/package.json" ] || die "oidc-provider is missing (run .ci/install-oidc.sh)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/saas" ./examples/saas)
(cd "$root" && go build -o "$tmp/portalserve" ./sso/portal/internal/portalserve)
export SSOKIT_E2E_BIN="$tmp/saas"
export SSOKIT_E2E_PORTAL_BIN="$tmp/portalserve"
export SSOKIT_E2E_ARTIFACTS="${SSOKIT_E2E_ARTIFACTS:-$root/.artifacts/e2e}"
rm -rf "$SSOKIT_E2E_ARTIFACTS"
mkdir -p "$SSOKIT_E2E_ARTIFACTS"
cd "$here"
node --test --test-concurrency=2 totp.test.mjs demo.test.mjs interop.test.mjs portal.test.mjs portal_settings.test.mjs
echo "e2e: screenshots in $SSOKIT_E2E_ARTIFACTS"
