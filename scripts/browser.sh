#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (tests/web/test_browser.py) when it is missing.
# Playwright drives this browser; its own browser download is not used.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "browser.sh: /usr/bin/chromium is missing; install Debian's chromium package as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core fonts-dejavu-extra fonts-liberation
/usr/bin/chromium --version
