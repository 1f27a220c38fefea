#!/usr/bin/env bash
# Opens run reports (bulkpatch report) in headless Chromium: one made from
# a hostile results file (formula cells, <script> in an error message,
# right-to-left overrides, markup in every column) and one of a realistic
# run. It dumps the DOM Chromium built, takes a screenshot of each, and
# checks that nothing executed and nothing was parsed as markup (see
# TestBrowserRunsNothing in internal/report). The end-to-end proof that
# the page's escaping holds in a real browser, not only in our own parse.
#
# Installs the Debian package chromium when no Chromium is on PATH. When
# it cannot be installed (no apt-get, not root, no package mirror) the
# check is skipped with a message and the script exits 0, as
# libreoffice-check does.
#
# The pages and screenshots are kept in $BROWSER_CHECK_OUT (default
# bin/browser-check).
set -uo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "browser-check: SKIP: $*"
  exit 0
}

find_browser() {
  for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
      command -v "$b"
      return 0
    fi
  done
  return 1
}

browser=$(find_browser)
if [ -z "$browser" ]; then
  command -v apt-get >/dev/null 2>&1 || skip "no Chromium on PATH and no apt-get to install it"
  [ "$(id -u)" = 0 ] || skip "no Chromium on PATH, and installing it needs root"
  echo "browser-check: installing chromium (this takes a minute or two)"
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  if ! { apt-get update && apt-get install -y --no-install-recommends chromium fonts-dejavu-core; } >"$log" 2>&1; then
    tail -n 20 "$log"
    rm -f "$log"
    skip "apt-get could not install chromium (see the lines above)"
  fi
  rm -f "$log"
  browser=$(find_browser) || skip "chromium installed, but it is not on PATH"
fi

out=${BROWSER_CHECK_OUT:-bin/browser-check}
mkdir -p "$out"
echo "browser-check: $("$browser" --version 2>/dev/null | head -n 1)"
BULKPATCH_BROWSER=1 BULKPATCH_CHROMIUM="$browser" BULKPATCH_BROWSER_OUT="$(cd "$out" && pwd)" \
  go test -count=1 -run '^TestBrowserRunsNothing$' -v ./internal/report/
status=$?
if [ $status = 0 ]; then
  echo "browser-check: screenshots: $(ls "$out"/*.png | tr '\n' ' ')"
fi
exit $status
