#!/usr/bin/env bash
# Installs what the demo's real-browser suite (examples/saas/e2e) needs:
# Debian's Chromium (driven by playwright-core with executablePath
# /usr/bin/chromium; no browser download), fonts for the screenshots,
# Node.js and npm, and the suite's pinned npm packages (npm ci). The suite
# also uses SimpleSAMLphp and oidc-provider, installed by install-saml.sh
# and install-oidc.sh. Idempotent; apt runs under the shared lock.
set -euo pipefail
export CI=true DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

pkgs=()
[ -x /usr/bin/chromium ] || pkgs+=(chromium)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || pkgs+=(fonts-dejavu-core)
if [ ${#pkgs[@]} -gt 0 ]; then
	as_root flock /tmp/apt.lock apt-get update -q
	as_root flock /tmp/apt.lock apt-get install -y -q --no-install-recommends "${pkgs[@]}"
fi
/usr/bin/chromium --version

cd examples/saas/e2e
# installed <name>: the pinned version of name is in node_modules.
installed() {
	[ -f "node_modules/$1/package.json" ] &&
		[ "$(node -p "require('./node_modules/$1/package.json').version")" = "$(node -p "require('./package.json').devDependencies['$1']")" ]
}
if installed playwright-core && installed axe-core; then
	echo "playwright-core and axe-core already installed"
else
	npm ci --no-audit --no-fund --loglevel=error
fi
