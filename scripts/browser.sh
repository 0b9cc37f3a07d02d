# The browser tests' Chromium: Debian's chromium and chromium-driver, installed when
# missing (as slapd is, in scripts/ldap.sh). Sourced by lib.sh.

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

chromium_present() { [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; }

# ensure_chromium: installs Chromium and its WebDriver with apt-get when either is missing.
ensure_chromium() {
  chromium_present && return 0
  local apt_log="${TMPDIR:-/tmp}/direct-oauth-apt-chromium.log"
  log "installing chromium and chromium-driver (apt-get; log in $apt_log)"
  apt-get update >"$apt_log" 2>&1 || die "apt-get update failed; see $apt_log"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
    chromium-driver >>"$apt_log" 2>&1 || die "apt-get install chromium failed; see $apt_log"
  chromium_present || die "chromium or chromedriver still missing after the install; see $apt_log"
}
