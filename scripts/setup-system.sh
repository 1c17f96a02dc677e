#!/usr/bin/env bash
# Installs the Debian packages smalltalk needs: ffmpeg (recording), pocketsphinx and its Python binding
# (offline transcription), Festival + the slt HTS voice (test speech), Chromium and, where the
# distribution has it (Debian: firefox-esr; Ubuntu ships Firefox only as a snap), Firefox ESR (browser tests).
# Idempotent: does nothing when everything is already there.
#   --bench   also nginx, the caching edge bench/audience puts in front of the stream (not started as a service),
#             and pulseaudio, whose null sink gives headless Firefox a sound device in bench:player (run by the bench)
set -euo pipefail
pkgs=(ffmpeg sox pocketsphinx pocketsphinx-en-us pocketsphinx-testdata python3-pocketsphinx festival festvox-us-slt-hts chromium)
[ "${1:-}" = "--bench" ] && pkgs+=(nginx pulseaudio)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# Firefox ESR for the Firefox browser tests, where apt has the package (without it those tests skip,
# and fail under CI). Asked of apt's lists as they are, and again after they are updated below.
firefox=""
installed firefox-esr || firefox=firefox-esr
missing=()
for p in "${pkgs[@]}"; do
  installed "$p" || missing+=("$p")
done
if [ -n "$firefox" ] && apt-cache show firefox-esr >/dev/null 2>&1; then
  missing+=(firefox-esr)
  firefox=""
fi
if [ ${#missing[@]} -eq 0 ]; then
  [ -n "$firefox" ] && echo "setup-system: firefox-esr is not in apt's sources here (Ubuntu has Firefox only as a snap): the Firefox browser tests will skip"
  echo "setup-system: all system packages present"
  exit 0
fi
echo "setup-system: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ -n "$firefox" ]; then
  if apt-cache show firefox-esr >/dev/null 2>&1; then missing+=(firefox-esr)
  else echo "setup-system: firefox-esr is not in apt's sources here (Ubuntu has Firefox only as a snap): the Firefox browser tests will skip"; fi
fi
# Packages that ship a service (nginx) are installed without starting it: the bench runs its own.
nostart=/usr/sbin/policy-rc.d
if [ ! -e "$nostart" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$nostart" >/dev/null
  $SUDO chmod +x "$nostart"
  trap '$SUDO rm -f "$nostart"' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
