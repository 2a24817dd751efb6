#!/usr/bin/env bash
# Set-up for a newcomer's Debian 12/13 (or Ubuntu) machine: installs only what is missing.
#   system packages (Vulkan loader, lavapipe, validation layers, glslc, spirv-val, Xvfb, compilers)
#   SDL3          the system's libSDL3, else built once from Debian's source package
#   vk_mem_alloc.h the system's, $VULKAN_SDK's, else unpacked from Debian's package
#   .venv         the project installed in editable mode (builds the VMA cffi extension)
#   with --browser, also Debian's chromium and chromium-driver, and Selenium in .venv (the
#                 optional group `browser` of pyproject.toml), for tests/test_browser.py
# Everything it builds is cached under build/; a second run does nothing.
# Usage: scripts/setup.sh            (called by `make run` and `make test`)
#        scripts/setup.sh --browser  (called by `make browser`)
#        scripts/setup.sh -h | --help (this text)
set -euo pipefail
BROWSER=0
case "${1:-}" in
    "") ;;
    --browser) BROWSER=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup: error: it takes no argument but --browser, not '$1' (see --help)" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build"
PY=${PYTHON:-python3}
mkdir -p "$BUILD"
say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

# shellcheck disable=SC1091
. /etc/os-release
CODENAME=${VERSION_CODENAME:-unknown}
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)

# The Debian mirror this machine's apt already uses (for backports and source packages).
debian_mirror() {
    grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | grep -v snapshot | grep -v security | head -1 | tr -d ' ' | sed 's#/$##' || true
}

can_be_root() { [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; }
as_root() {  # run an apt command as root, or tell the user exactly what to run
    if [ "$(id -u)" = 0 ]; then "$@"; return; fi
    if can_be_root; then sudo "$@"; return; fi
    die "this step needs root. Run:  sudo $*   then run make again."
}

# ---------------------------------------------------------------- system packages
APT_UPDATED=0
apt_update() {
    [ "$APT_UPDATED" = 1 ] && return
    as_root apt-get update -q >/dev/null
    APT_UPDATED=1
}
missing_pkgs() {  # prints those of "$@" that dpkg does not list as installed
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
    done
}
apt_install() {
    local need
    need=$(missing_pkgs "$@")
    [ -z "$need" ] && return
    say "installing system packages: $(echo "$need" | tr '\n' ' ')"
    apt_update
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/dev/null
}

PKGS="gcc g++ pkg-config libvulkan1 libvulkan-dev vulkan-tools vulkan-validationlayers glslc spirv-tools xvfb xauth"
PY_INC=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[ -f "$PY_INC/Python.h" ] || PKGS="$PKGS python3-dev"
$PY -c 'import venv, ensurepip' 2>/dev/null || PKGS="$PKGS python3-venv"
SYSTEM_SDL=0
if [ "$CODENAME" != bookworm ] && apt-cache show libsdl3-dev >/dev/null 2>&1; then
    PKGS="$PKGS libsdl3-dev"; SYSTEM_SDL=1
fi
SYSTEM_VMA=0
if [ "$CODENAME" != bookworm ] && apt-cache show libvulkan-memory-allocator-dev >/dev/null 2>&1; then
    PKGS="$PKGS libvulkan-memory-allocator-dev"; SYSTEM_VMA=1
fi
if [ "$CODENAME" = bookworm ]; then  # SDL3 is built from source here
    PKGS="$PKGS cmake ninja-build dpkg-dev xz-utils libx11-dev libxext-dev libxrandr-dev libxcursor-dev
          libxi-dev libxfixes-dev libxss-dev libxkbcommon-dev"
fi
[ "$BROWSER" = 0 ] || PKGS="$PKGS chromium chromium-driver"
# shellcheck disable=SC2086
apt_install $PKGS
# Selenium and chromedriver reach each other at "localhost", which a minimal system with no
# /etc/hosts (a fresh chroot) does not resolve: give it the line every installed system has.
if [ "$BROWSER" = 1 ] && ! getent hosts localhost >/dev/null; then
    say "adding '127.0.0.1 localhost' to /etc/hosts (localhost does not resolve)"
    echo "127.0.0.1 localhost" | as_root tee -a /etc/hosts >/dev/null
fi

# A Vulkan driver: keep a GPU driver if the machine has one, else lavapipe.
# Bookworm's lavapipe (Mesa 22) binds only 32 samplers per stage; the book needs 100, so Debian 12
# takes Mesa from bookworm-backports.
if [ "$CODENAME" = bookworm ]; then
    mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
    if [ -z "$mesa" ] || dpkg --compare-versions "$mesa" lt 24; then
        list=/etc/apt/sources.list.d/bookworm-backports.list
        if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
            mirror=$(debian_mirror); mirror=${mirror:-http://deb.debian.org/debian}
            line="deb $mirror bookworm-backports main"
            can_be_root || die "Mesa 25 comes from bookworm-backports, which needs root to add. Run:
  echo '$line' | sudo tee $list && sudo apt-get update
then run make again."
            say "adding bookworm-backports ($mirror) for Mesa 25"
            echo "$line" | as_root tee "$list" >/dev/null
            APT_UPDATED=0
        fi
        apt_update
        say "installing mesa-vulkan-drivers from bookworm-backports"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            -t bookworm-backports mesa-vulkan-drivers >/dev/null
    fi
else
    apt_install mesa-vulkan-drivers
fi

# ---------------------------------------------------------------- trixie packages on bookworm
# A private apt configuration that knows Debian 13's lists, for the VMA header and SDL3's source.
TRIXIE="$BUILD/apt-trixie"
trixie_apt() {
    local sandbox=()
    [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)  # downloads land in build/
    if [ ! -f "$TRIXIE/updated" ]; then
        mkdir -p "$TRIXIE/lists/partial" "$TRIXIE/cache/archives/partial"
        mirror=$(debian_mirror); mirror=${mirror:-http://deb.debian.org/debian}
        printf 'deb %s trixie main\ndeb-src %s trixie main\n' "$mirror" "$mirror" >"$TRIXIE/sources.list"
    fi
    apt-get -q -o Dir::Etc::SourceList="$TRIXIE/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$TRIXIE/lists" -o Dir::Cache="$TRIXIE/cache" \
        -o APT::Architecture="$ARCH" -o Debug::NoLocking=1 "${sandbox[@]}" "$@"
}
trixie_update() {
    [ -f "$TRIXIE/updated" ] && return
    say "reading Debian 13 package lists (for the VMA header / SDL3 source)"
    trixie_apt update >/dev/null
    touch "$TRIXIE/updated"
}

# ---------------------------------------------------------------- VMA header
VMA_INCLUDE=""
for d in /usr/include /usr/local/include "${VULKAN_SDK:-/nonexistent}/include" "$BUILD/vma/usr/include"; do
    if [ -f "$d/vk_mem_alloc.h" ]; then VMA_INCLUDE=$d; break; fi
done
if [ -z "$VMA_INCLUDE" ]; then
    [ "$SYSTEM_VMA" = 1 ] && die "libvulkan-memory-allocator-dev is installed but vk_mem_alloc.h was not found"
    trixie_update
    say "unpacking vk_mem_alloc.h (VMA 3.x) from Debian 13's libvulkan-memory-allocator-dev"
    (cd "$BUILD" && rm -f libvulkan-memory-allocator-dev_*.deb \
        && trixie_apt download libvulkan-memory-allocator-dev >/dev/null \
        && dpkg -x libvulkan-memory-allocator-dev_*.deb vma && rm -f libvulkan-memory-allocator-dev_*.deb)
    VMA_INCLUDE="$BUILD/vma/usr/include"
    [ -f "$VMA_INCLUDE/vk_mem_alloc.h" ] || die "could not get vk_mem_alloc.h"
fi

# ---------------------------------------------------------------- SDL3
SDL_DIR=""
if [ "$SYSTEM_SDL" = 1 ]; then
    SDL_DIR=$(dirname "$(dpkg -L libsdl3-dev | grep '/libSDL3.so$' | head -1)")
elif [ -f "$BUILD/sdl3/lib/libSDL3.so" ]; then
    SDL_DIR="$BUILD/sdl3/lib"
else
    trixie_update
    say "building SDL3 from Debian 13's source package (once, about a minute)"
    src="$BUILD/sdl3-src"; rm -rf "$src"; mkdir -p "$src"
    (cd "$src" && trixie_apt source --download-only libsdl3 >/dev/null && dpkg-source -x --no-check ./*.dsc tree >/dev/null)
    cmake -S "$src/tree" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$BUILD/sdl3" -DCMAKE_INSTALL_LIBDIR=lib \
        -DSDL_TESTS=OFF -DSDL_EXAMPLES=OFF -DSDL_WAYLAND=OFF -DSDL_STATIC=OFF >"$BUILD/sdl3-build.log" 2>&1 \
        || die "SDL3 configure failed, see $BUILD/sdl3-build.log"
    cmake --build "$src/build" >>"$BUILD/sdl3-build.log" 2>&1 || die "SDL3 build failed, see $BUILD/sdl3-build.log"
    cmake --install "$src/build" >>"$BUILD/sdl3-build.log" 2>&1
    rm -rf "$src"
    SDL_DIR="$BUILD/sdl3/lib"
fi
# The engine reads this to point pysdl3 at the library without any network access.
echo "$SDL_DIR" >"$BUILD/sdl3-path"

# ---------------------------------------------------------------- Python environment
STAMP="$ROOT/.venv/.installed"
HASH=$(cat "$ROOT/pyproject.toml" "$ROOT/eng/vk/_vma_build.py" "$ROOT/eng/vk/vma_decls.h" | sha256sum | cut -c1-16)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
    [ -x "$ROOT/.venv/bin/python" ] || { say "creating .venv"; $PY -m venv "$ROOT/.venv"; }
    say "installing the project into .venv (editable, with test tools)"
    "$ROOT/.venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
    VMA_INCLUDE_DIR="$VMA_INCLUDE" "$ROOT/.venv/bin/python" -m pip install -q -e "$ROOT[test]" \
        >"$BUILD/pip-install.log" 2>&1 || { cat "$BUILD/pip-install.log" >&2; die "pip install failed"; }
    echo "$HASH" >"$STAMP"
fi
# --browser: Selenium, pyproject.toml's optional group `browser`, installed on its own (the
# project installed again with it would rebuild the VMA extension)
BROWSER_STAMP="$ROOT/.venv/.browser-installed"
if [ "$BROWSER" = 1 ] && { [ ! -f "$BROWSER_STAMP" ] || [ "$(cat "$BROWSER_STAMP")" != "$HASH" ]; }; then
    say "installing Selenium into .venv (the optional group 'browser' of pyproject.toml)"
    group='import sys, tomllib; print(*tomllib.load(sys.stdin.buffer)["project"]["optional-dependencies"]["browser"])'
    # shellcheck disable=SC2046
    "$ROOT/.venv/bin/python" -m pip install -q $("$ROOT/.venv/bin/python" -c "$group" <"$ROOT/pyproject.toml") \
        >"$BUILD/pip-browser.log" 2>&1 || { cat "$BUILD/pip-browser.log" >&2; die "pip install of Selenium failed"; }
    echo "$HASH" >"$BROWSER_STAMP"
fi
say "ready (VMA header: $VMA_INCLUDE, SDL3: $SDL_DIR)"
