#!/usr/bin/env bash
# The README's second command: install what the test suite needs on a Debian 12
# machine, then run the whole suite (`npm test`). Arguments go to jest.
#
#   bash tools/dev/install-and-test.sh [jest arguments]
#
# Needs root: it installs Debian packages, and the instance box test boots a
# systemd machine (systemd-nspawn, overlay mounts, network namespaces). Run as
# root (a minimal Debian image or a container has no sudo) it goes straight
# on; run as a user, it runs itself again through sudo, passing PATH on (sudo
# resets it; root must find the same node and npm) and GRAVITON_LLM_CACHE when
# set. Without root and without sudo it stops at once, naming what is missing.
# Already-installed packages are not installed again, so a warm run starts
# testing in seconds.
# The box's root file systems and the llama.cpp builds are cached in .cache/
# by the tests themselves, keyed by what makes them.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Debian package: the command that tells it is installed.
declare -A PACKAGES=(
  [cmake]=cmake [g++]=g++ [make]=make [git]=git [curl]=curl [ca-certificates]=update-ca-certificates
  [shellcheck]=shellcheck [ccache]=ccache
  # Arm builds of llama.cpp, run under QEMU.
  [g++-aarch64-linux-gnu]=aarch64-linux-gnu-g++ [qemu-user]=qemu-aarch64
  # The instance box: a Debian root file system booted by systemd-nspawn in its own network namespace.
  [systemd-container]=systemd-nspawn [debootstrap]=debootstrap [iproute2]=ip [util-linux]=nsenter
  # The arm64 instance box: arm64 programs run under QEMU through binfmt_misc.
  [qemu-user-static]=qemu-aarch64-static [binfmt-support]=update-binfmts
  # A real Prometheus checks the kit's scrape configuration.
  [prometheus]=promtool
  [python3]=python3 [python3-pip]=pip3
)

missing=()
for package in "${!PACKAGES[@]}"; do
  command -v "${PACKAGES[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
need_moto=0
python3 -c 'import moto, boto3, flask' >/dev/null 2>&1 || need_moto=1

if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    echo "install-and-test: not root; running again through sudo" >&2
    exec sudo -- env "PATH=$PATH" ${GRAVITON_LLM_CACHE:+"GRAVITON_LLM_CACHE=$GRAVITON_LLM_CACHE"} \
      bash tools/dev/install-and-test.sh "$@"
  fi
  what=("root (the instance box test boots a systemd machine: systemd-nspawn, mounts, network namespaces)")
  what+=("sudo, to become root (not installed)")
  ((${#missing[@]})) && what+=("Debian packages: ${missing[*]}")
  ((need_moto)) && what+=("moto 5 with its server for python3")
  joined=$(printf '%s; ' "${what[@]}")
  printf 'install-and-test: cannot run the test suite as %s; missing: %s. Run it as root: bash tools/dev/install-and-test.sh\n' \
    "$(id -un)" "${joined%; }" >&2
  exit 1
fi

if ((${#missing[@]})); then
  echo "install-and-test: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# binfmt_misc must be mounted for qemu-user-static to register (a container may start without it);
# the F flag makes the kernel keep the interpreter open, so it works inside the box's root file system.
if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
  update-binfmts --enable qemu-aarch64
fi

if ((need_moto)); then
  echo "install-and-test: installing moto 5 (server) for python3"
  # Debian 12's python3-moto is moto 4; the box's AWS extends moto 5's server.
  pip3 install --quiet 'moto[server]>=5.0,<6' boto3 ||
    pip3 install --quiet --break-system-packages 'moto[server]>=5.0,<6' boto3
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi

exec npm test -- "$@"
