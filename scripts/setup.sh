#!/usr/bin/env bash
# Installs everything smalltalk needs on a fresh Debian/Ubuntu machine with Node 20:
# system packages (ffmpeg, pocketsphinx, Festival, Chromium), npm packages from the lockfile,
# and the build (TypeScript and front-end). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
# `npm install` rather than `npm ci`: it installs the versions pinned in package-lock.json,
# and (unlike npm ci) tolerates optional platform packages the registry does not serve
# (Windows/macOS builds that vite and the whisper binding list as optional).
npm install --no-audit --no-fund
npm run build
