#!/usr/bin/env bash
# Installs everything smalltalk needs on a fresh Debian/Ubuntu machine with Node 20:
# system packages (ffmpeg, pocketsphinx, Festival, Chromium), npm packages from the lockfile,
# and the build (TypeScript and front-end). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npm ci --no-audit --no-fund
npm run build
