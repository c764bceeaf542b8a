#!/usr/bin/env bash
# Installs what the engine needs to run WebGPU without a GPU, then the npm dependencies.
# On Debian bookworm as root: Mesa's lavapipe Vulkan driver from bookworm-backports
# (bookworm's own Mesa 22 is too old for Dawn). Elsewhere: says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

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
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  echo "setup: installed mesa-vulkan-drivers $(mesa_version) (lavapipe)"
}

needs_driver=0
if ! have_lavapipe; then needs_driver=1; fi
case "$(mesa_version)" in 22.*) needs_driver=1 ;; esac
if [ "${GRADMIX_SKIP_DRIVER:-0}" = 1 ]; then needs_driver=0; fi

if [ "$needs_driver" = 1 ]; then
  if [ -r /etc/debian_version ] && grep -q '^12' /etc/debian_version && [ "$(id -u)" = 0 ]; then
    install_lavapipe_debian
  else
    cat >&2 <<'MSG'
setup: no usable software Vulkan driver found, and this is not Debian bookworm as root,
so nothing was installed. WebGPU needs either a GPU with a Vulkan/Metal/D3D12 driver, or
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
if [ "${GRADMIX_SKIP_BROWSER:-0}" != 1 ] && ! have_chromium; then
  if [ -r /etc/debian_version ] && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
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

# --- Slurm sweep test (test/sweep.test.ts) -----------------------------------------------------
# It brings up a one-node Slurm of its own (munged, slurmctld, slurmd in a temp folder) and runs
# a tiny job array. On Debian as root: install `slurm-wlm` and `munge` when missing (the test uses
# its own key, socket and config, whatever services the packages start). Elsewhere: say what to do.
have_slurm() {
  command -v sbatch >/dev/null && [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && [ -x /usr/sbin/munged ]
}
if [ "${GRADMIX_SKIP_SLURM:-0}" != 1 ] && ! have_slurm; then
  if [ -r /etc/debian_version ] && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
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
# The stamp scripts/first-use.mjs looks for: setup ran for this package-lock.json.
sha256sum package-lock.json 2>/dev/null | cut -d' ' -f1 >node_modules/.gradmix-setup || echo no-lock >node_modules/.gradmix-setup
echo "setup: done"
