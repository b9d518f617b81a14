# Sourced by scripts/serve and scripts/test: installs the Debian packages
# that are missing, and only those, so a second run on a ready machine is quick.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >/dev/null || return 1
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || return 1
}

# What building the library and its examples needs.
BUILD_PACKAGES=(cmake ninja-build g++ libasio-dev libssl-dev libcli11-dev libedit-dev libhiredis-dev libsqlite3-dev libsodium-dev python3 openssl)

# What the tests need besides: the test framework, clang's sanitizers and
# libFuzzer, redis-server for the backplane's tests, the real clients the
# end-to-end suites drive (telnets, busybox, nc, socat, tmux, Chromium, irssi, WeeChat),
# pkg-config for the pkg-config consumer, doxygen for the API reference and
# Debian's pytest (with xdist, and filelock, which irctest needs under xdist) for
# irctest, the IRC conformance suite; WeeChat
# needs weechat-plugins (only recommended) for the fifo its test drives it by;
# zlib1g-dev lets the tests inflate the page's gzip (the library links no zlib).
TEST_PACKAGES=(catch2 clang libclang-rt-14-dev llvm netcat-openbsd redis-server tmux socat busybox
               inetutils-telnet telnet-ssl chromium chromium-driver python3-selenium python3-websockets
               pkgconf doxygen python3-pytest python3-pytest-xdist python3-filelock irssi weechat-headless weechat-plugins
               zlib1g-dev)
