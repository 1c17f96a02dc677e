#!/usr/bin/env bash
# Runs the whole suite with Node's test runner:
#   1. unit and API tests on embedded PGlite;
#   2. the API and webhook tests again on a real Postgres (needs TEST_DATABASE_URL, e.g.
#      postgres://postgres@127.0.0.1:5432/test; skipped with a notice when unset), beside 1;
#   3. live-room, recording and browser tests (real WebRTC, ffmpeg, Chromium, Firefox, speech), and a few of
#      them again on the other SFU engine (werift; datachannel is the default).
# Pass file paths to run only those (on PGlite).
set -euo pipefail
cd "$(dirname "$0")/.."
run() { node --import tsx --test --test-concurrency=1 --test-timeout=300000 "$@"; }
if [ $# -gt 0 ]; then run "$@"; exit; fi
status=0
api_tests=$(find test/api src -name '*.test.ts' 2>/dev/null | sort)
# The PGlite and the Postgres API phases are independent (each app has its own database or schema):
# they run side by side, each into its own log, printed whole when both are done (TEST_SERIAL=1: one
# after the other, printing as they go).
logs=$(mktemp -d)
phase() { # phase NAME command...: run it now (TEST_SERIAL) or in the background into $logs/NAME
  local name=$1; shift
  if [ -n "${TEST_SERIAL:-}" ]; then "$@" || echo 1 > "$logs/$name.failed"
  else ( "$@" > "$logs/$name.log" 2>&1 || echo 1 > "$logs/$name.failed" ) & fi
}
echo "== API and unit tests on PGlite"
phase pglite env TEST_DB=pglite node --import tsx --test --test-concurrency=1 --test-timeout=300000 $api_tests
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== API and webhook tests on Postgres ($TEST_DATABASE_URL)"
  phase postgres env TEST_DB=postgres node --import tsx --test --test-concurrency=1 --test-timeout=300000 $(find test/api test/webhooks -name '*.test.ts' | sort)
elif [ -n "${CI:-}" ]; then
  echo "== CI: TEST_DATABASE_URL is not set; under CI the Postgres half is required, not skipped"; status=1
else
  echo "== SKIPPED: API and webhook tests on Postgres. Set TEST_DATABASE_URL=postgres://USER@HOST:5432/DB to run them (CI does)."
fi
wait
for name in pglite postgres; do
  if [ -f "$logs/$name.log" ]; then echo "== the $name phase's output"; cat "$logs/$name.log"; fi
  if [ -f "$logs/$name.failed" ]; then echo "== the $name phase FAILED"; status=1; fi
done
rm -rf "$logs"
other=$(find test -mindepth 2 -name '*.test.ts' -not -path 'test/api/*' 2>/dev/null | sort)
if [ -n "$other" ]; then
  echo "== Live, recording, webhook and browser tests"
  TEST_DB=pglite run $other || status=1
  # The other SFU engine (SFU_ENGINE=werift, src/sfu/README.md): bots, Chromium, Firefox, and a
  # recording through its taps. The rest of the live suite runs on the default engine (datachannel) only.
  echo "== Live tests on the werift SFU engine"
  SFU_ENGINE=werift TEST_DB=pglite run test/live/bot.test.ts test/live/browser.test.ts test/live/browser-firefox.test.ts test/recording/e2e.test.ts || status=1
fi
exit $status
