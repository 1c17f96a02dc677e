#!/usr/bin/env bash
# Installs the Debian packages smalltalk needs: ffmpeg (recording), pocketsphinx
# (offline transcription), Festival + the slt HTS voice (test speech), Chromium (browser tests).
# Idempotent: does nothing when everything is already there.
#   --bench   also nginx, the caching edge bench/audience puts in front of the stream (not started as a service)
set -euo pipefail
pkgs=(ffmpeg sox pocketsphinx pocketsphinx-en-us pocketsphinx-testdata festival festvox-us-slt-hts chromium)
[ "${1:-}" = "--bench" ] && pkgs+=(nginx)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: all system packages present"
  exit 0
fi
echo "setup-system: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Packages that ship a service (nginx) are installed without starting it: the bench runs its own.
nostart=/usr/sbin/policy-rc.d
if [ ! -e "$nostart" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$nostart" >/dev/null
  $SUDO chmod +x "$nostart"
  trap '$SUDO rm -f "$nostart"' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
