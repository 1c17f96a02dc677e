#!/usr/bin/env bash
# Installs everything smalltalk needs on a fresh Debian/Ubuntu machine with Node 20:
# system packages (ffmpeg, pocketsphinx, Festival, Chromium), npm packages from the lockfile,
# and the build (TypeScript and front-end). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
# Exactly the versions in package-lock.json, into a fresh node_modules. The lock also lists the
# whisper binding's builds for other platforms (optional: npm skips those that do not match).
# package.json's allowScripts names the install scripts we need (argon2's prebuilt-binary check, esbuild's binary
# checks, the whisper binding's): npm 11.16+ warns about any other (npm 12 skips them); npm 10
# (Node 20's own) ignores the field and runs install scripts as it always did.
npm ci --no-audit --no-fund
npm run build
