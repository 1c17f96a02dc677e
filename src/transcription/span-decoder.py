"""The transcript's decoder: pocketsphinx (Debian's python3-pocketsphinx) over the phrases of one
track, found by voice activity beforehand (src/transcription/vad.ts), with the talk's own words
(names) added to its dictionary and language model first, so it can recognize them.

argv[1] is JSON: {"config": {"-name": value, ...}} (ps_decoder.configured). Reads one JSON object
on stdin:
  {"raw": path of 16 kHz mono s16le PCM, "spans": [[start, end], ...] in 10-ms frames,
   "words": [[word, "PH ON ES"], ...]}
Writes one JSON object per span, in order, one a line:
  {"span": i, "words": [[word, start, end], ...]}  every word found, fillers and all, times in
                                                   seconds from the span's start
Each span is decoded whole (full search, flat search, best path), as pocketsphinx_batch decodes
the lines of its control file.
"""

import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources (a read-only install, a clean checkout)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ps_decoder import FRAME_RATE, SAMPLE_RATE, add_words, configured, words  # noqa: E402

# Bytes of one frame of 16-bit samples.
FRAME_BYTES = int(SAMPLE_RATE / FRAME_RATE) * 2
# pocketsphinx_batch reads one analysis window (-wlen 0.025625 s) past a span's end frame: so do we.
TAIL_BYTES = int(SAMPLE_RATE * 0.025625) * 2


def main():
    settings = json.loads(sys.argv[1])
    request = json.loads(sys.stdin.read())
    decoder = configured(settings["config"])
    add_words(decoder, request.get("words") or [])
    with open(request["raw"], "rb") as raw:
        for i, (start, end) in enumerate(request["spans"]):
            raw.seek(start * FRAME_BYTES)
            audio = raw.read(max(0, (end - start) * FRAME_BYTES + TAIL_BYTES))
            decoder.start_utt()
            decoder.process_raw(audio, False, True)
            decoder.end_utt()
            sys.stdout.write(json.dumps({"span": i, "words": words(decoder)}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
