#!/usr/bin/env bash
# Installs what the engine needs to run WebGPU without a GPU, then the npm dependencies.
# On Debian as root: Node.js 20 when it is missing or older, and Mesa's lavapipe Vulkan driver
# (on bookworm from bookworm-backports: bookworm's own Mesa 22 is too old for Dawn; on later
# releases from their own archive). Elsewhere: says what to install.
# GRADMIX_SETUP_SCOPE=demo (npm run demo) leaves out what only the tests need (Chromium, Slurm).
set -euo pipefail
cd "$(dirname "$0")/.."
SCOPE="${GRADMIX_SETUP_SCOPE:-tests}"
as_debian_root() { [ -r /etc/debian_version ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
# The package lists, fetched once however many of the steps below install something.
apt_update() {
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
}
# Debian itself, not a derivative (Ubuntu's /etc/debian_version reads e.g. bookworm/sid).
is_debian() { [ -r /etc/os-release ] && grep -qE '^ID="?debian"?$' /etc/os-release; }

# --- Node.js 20 or newer (package.json engines) ------------------------------------------------
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ] && as_debian_root; then
  if ! command -v npm >/dev/null; then
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ "$(node_major)" -lt 20 ]; then
    # bookworm's nodejs is 18: Node 20's binary from the npm registry, ahead of it on PATH, once it runs.
    case "$(dpkg --print-architecture)" in amd64) arch=x64 ;; arm64) arch=arm64 ;; *) arch="" ;; esac
    if [ -n "$arch" ] && npm install -g --no-audit --no-fund "node-linux-$arch@20" >/dev/null; then
      node20="$(npm root -g)/node-linux-$arch/bin/node"
      # (-L too: a dangling link from an earlier setup is replaced, not tripped over)
      if "$node20" --version >/dev/null 2>&1 && { [ ! -e /usr/local/bin/node ] || [ -L /usr/local/bin/node ]; }; then ln -sfn "$node20" /usr/local/bin/node; fi
      hash -r
    fi
  fi
  if [ "$(node_major)" -ge 20 ]; then echo "setup: installed Node.js $(node --version)"; fi
fi
if [ "$(node_major)" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none)${node20:+; Node 20 is at $node20, put it first on PATH}); install it and run again" >&2
  exit 1
fi

have_lavapipe() {
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q libvulkan.so.1
}

mesa_version() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true
}

install_lavapipe_debian() {
  local sources=/etc/apt/sources.list.d/bookworm-backports.sources
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # Same mirror and keyring as the machine's existing Debian sources.
    local mirror keyring
    mirror=$(grep -rhoE 'https?://[^ ]*/debian/?$|https?://[^ ]*/debian ' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n1 | tr -d ' ' || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$mirror" "$keyring" >"$sources"
    echo "setup: added bookworm-backports ($mirror)"
    APT_UPDATED= # a new source: the lists are fetched again
  fi
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  echo "setup: installed mesa-vulkan-drivers $(mesa_version) (lavapipe)"
}

# Later Debian releases (trixie: Mesa 25) carry a Mesa new enough in their own archive.
install_lavapipe_archive() {
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
  case "$(mesa_version)" in
    2[4-9].* | [3-9][0-9].*) echo "setup: installed mesa-vulkan-drivers $(mesa_version) (lavapipe)" ;;
    *) echo "setup: installed mesa-vulkan-drivers $(mesa_version), but Dawn needs Mesa >= 24; install a newer one" >&2 ;;
  esac
}

needs_driver=0
if ! have_lavapipe; then needs_driver=1; fi
case "$(mesa_version)" in 22.*) needs_driver=1 ;; esac
if [ "${GRADMIX_SKIP_DRIVER:-0}" = 1 ]; then needs_driver=0; fi

if [ "$needs_driver" = 1 ]; then
  if as_debian_root && is_debian && grep -q '^12' /etc/debian_version; then
    install_lavapipe_debian
  elif as_debian_root && is_debian && ! grep -qE '^(9|10|11)\.' /etc/debian_version; then
    install_lavapipe_archive
  else
    cat >&2 <<'MSG'
setup: no usable software Vulkan driver found, and this is not Debian 12 or later as root
(Ubuntu and other derivatives included), so nothing was installed. WebGPU needs either a GPU with a Vulkan/Metal/D3D12 driver, or
Mesa's lavapipe (Mesa >= 24): on Debian/Ubuntu install `mesa-vulkan-drivers libvulkan1`
(on bookworm from bookworm-backports). Set GRADMIX_SKIP_DRIVER=1 to skip this check.
MSG
  fi
fi

# --- Browser tests (test/browser.test.ts) ----------------------------------------------------
# They drive the distribution's Chromium with playwright-core; no browser is ever downloaded.
# On Debian as root: install the `chromium` package when it is missing. Elsewhere: say what to do.
have_chromium() {
  [ -n "${CHROMIUM:-}" ] || [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ]
}
if [ "$SCOPE" = tests ] && [ "${GRADMIX_SKIP_BROWSER:-0}" != 1 ] && ! have_chromium; then
  if [ -r /etc/debian_version ] && [ "$(id -u)" = 0 ]; then
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    echo "setup: installed chromium $(dpkg-query -W -f='${Version}' chromium) (for the browser tests)"
  else
    cat >&2 <<'MSG'
setup: no Chromium found, and this is not Debian as root, so nothing was installed. The browser
tests need one: install your distribution's chromium package, or set CHROMIUM to a Chromium
binary; set GRADMIX_SKIP_BROWSER=1 to skip them.
MSG
  fi
fi

# --- Slurm sweep test (test/sweep-slurm.test.ts) -----------------------------------------------
# It brings up a one-node Slurm of its own (munged, slurmctld, slurmd in a temp folder) and runs
# a tiny job array. On Debian as root: install `slurm-wlm` and `munge` when missing (the test uses
# its own key, socket and config, whatever services the packages start). Elsewhere: say what to do.
have_slurm() {
  command -v sbatch >/dev/null && [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && [ -x /usr/sbin/munged ]
}
if [ "$SCOPE" = tests ] && [ "${GRADMIX_SKIP_SLURM:-0}" != 1 ] && ! have_slurm; then
  if [ -r /etc/debian_version ] && [ "$(id -u)" = 0 ]; then
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
    echo "setup: installed slurm-wlm $(dpkg-query -W -f='${Version}' slurm-wlm) and munge (for the Slurm sweep test)"
  else
    cat >&2 <<'MSG'
setup: no Slurm found, and this is not Debian as root, so nothing was installed. The Slurm
sweep test needs slurmctld, slurmd, sbatch and munged (Debian/Ubuntu: slurm-wlm and munge) and
root; without them it is skipped. Set GRADMIX_SKIP_SLURM=1 to skip this check.
MSG
  fi
fi
# ----------------------------------------------------------------------------------------------

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
# The stamp scripts/first-use.mjs looks for: setup ran for this package-lock.json, and for what.
echo "$(sha256sum package-lock.json 2>/dev/null | cut -d' ' -f1 || echo no-lock) $SCOPE" >node_modules/.gradmix-setup
echo "setup: done"
