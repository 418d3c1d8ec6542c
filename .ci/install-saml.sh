#!/usr/bin/env bash
# Installs the SAML interop peer (SimpleSAMLphp and the PHP modules it needs).
# Idempotent; apt runs under a shared lock because several installers may run
# at once on one machine.
set -euo pipefail
export CI=true DEBIAN_FRONTEND=noninteractive
if command -v php >/dev/null 2>&1 && [ -d /usr/share/simplesamlphp/www ] && php -m | grep -qi '^dom$' && php -m | grep -qi mbstring; then
  exit 0
fi
flock /tmp/apt.lock apt-get update -q
flock /tmp/apt.lock apt-get install -y -q --no-install-recommends simplesamlphp php-cli php-xml php-mbstring xmlsec1 openssl
