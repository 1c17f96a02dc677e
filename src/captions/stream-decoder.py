"""One live speaker's decoder: pocketsphinx (Debian's python3-pocketsphinx) on a stream of audio.

Reads frames on stdin, each a kind byte, a 4-byte little-endian length, then that many bytes:
  b"a"  audio: 16 kHz mono s16le PCM
  b"w"  words to recognize (the talk's own: names), JSON [[word, "PH ON ES"], ...]; added between
        phrases, each one the decoder does not know already (pocketsphinx's ps_add_word puts it in
        the dictionary and the language model)
Writes one JSON object per line on stdout:
  {"ready": true}                                  the model is loaded (the model process, and run by hand)
  {"partial": "words so far"}                      the phrase being spoken, every PARTIAL seconds of it
  {"phrase": [[word, start, end], ...]}            a phrase ended (a pause): every word pocketsphinx
                                                   found, fillers and all, times in seconds of the stream
At the end of input the phrase in progress is ended and written, then the process exits (a forked
decoder writes {"end": true} last).

argv[1] is JSON: {"config": {"-name": value, ...}, "partial": seconds}; a value's JSON type picks
the setter (true/false, integer, number, string). With argv[2], a Unix socket's path, the process
loads the model once and forks a decoder for each request instead (serve_forks): each one connects
to that socket, and the connection is its stdin and stdout as above.

The decoder's voice-activity detector finds the phrases (its -vad_* settings); the tree search runs
as the audio comes, so a partial hypothesis is the best path so far, and at a phrase's end only the
flat search and best path are left.
"""

import json
import os
import select
import signal
import socket
import sys
import traceback

# The decoder's set-up, shared with the transcript's span decoder.
sys.dont_write_bytecode = True  # no __pycache__ beside the sources (a read-only install, a clean checkout)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "transcription"))
from ps_decoder import SAMPLE_RATE, add_words, configured, words  # noqa: E402

# Audio is given to the decoder at most this much at a time, so the detector's state is read often
# enough not to miss a pause inside a long read (pocketsphinx_continuous reads 2048 samples).
STEP_BYTES = 4096
# Audio kept from before a phrase's detected start, for decoding it again (the detector's own
# pre-speech is 0.2 s).
KEEP_BEFORE_BYTES = SAMPLE_RATE  # 0.5 s
# A phrase longer than this is not decoded again when words come in the middle of it.
MAX_REDO_BYTES = SAMPLE_RATE * 2 * 30


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Stream:
    def __init__(self, decoder, partial_bytes):
        self.decoder = decoder
        self.partial_bytes = partial_bytes
        self.in_phrase = False
        self.since_partial = 0
        self.shown = ""
        self.pending = []
        # Words came while a phrase was spoken: at its end it is decoded again with them.
        self.redo = False
        # The phrase's audio (and KEEP_BEFORE_BYTES before it), while it is no longer than MAX_REDO_BYTES.
        self.audio_kept = bytearray()
        # Frames the decoder counted for phrases decoded again, taken off the times after them.
        self.shift = 0

    def audio(self, data):
        decoder = self.decoder
        for i in range(0, len(data), STEP_BYTES):
            piece = data[i : i + STEP_BYTES]
            decoder.process_raw(piece, False, False)
            self.keep(piece)
            speaking = decoder.get_in_speech()
            if speaking and not self.in_phrase:
                self.in_phrase = True
                self.since_partial = 0
                self.shown = ""
            elif self.in_phrase and not speaking:
                self.phrase_ended()
            elif self.in_phrase:
                self.since_partial += len(piece)
                if self.since_partial >= self.partial_bytes:
                    self.since_partial = 0
                    hyp = decoder.hyp()
                    text = hyp.hypstr if hyp else ""
                    if text and text != self.shown:
                        self.shown = text
                        emit({"partial": text})
            if self.pending and not self.in_phrase:
                # Between phrases: the search is rebuilt for the new words, not in the middle of one.
                decoder.end_utt()
                add_words(decoder, self.pending)
                self.pending = []
                decoder.start_utt()

    def keep(self, piece):
        self.audio_kept += piece
        if not self.in_phrase and len(self.audio_kept) > KEEP_BEFORE_BYTES:
            del self.audio_kept[: len(self.audio_kept) - KEEP_BEFORE_BYTES]

    def phrase_ended(self):
        decoder = self.decoder
        decoder.end_utt()
        if self.redo and self.pending and len(self.audio_kept) <= MAX_REDO_BYTES:
            # The talk's words came while this phrase was spoken (its first phrase, usually: the
            # words are looked up as the talk starts): decode it again with them.
            add_words(decoder, self.pending)
            self.pending = []
            decoder.start_utt()
            decoder.process_raw(bytes(self.audio_kept), False, True)
            decoder.end_utt()
            emit({"phrase": words(decoder, self.shift)})
            self.shift += decoder.n_frames()
        else:
            emit({"phrase": words(decoder, self.shift)})
        self.redo = False
        self.audio_kept = bytearray()
        decoder.start_utt()
        self.in_phrase = False

    def add(self, data):
        try:
            self.pending.extend(json.loads(data))
        except ValueError:
            return
        if self.in_phrase:
            self.redo = True

    def end(self):
        if self.in_phrase:
            self.phrase_ended()
        self.decoder.end_utt()


def run_stream(decoder, partial_seconds):
    """Decodes the frames read on stdin until it ends (module docstring)."""
    decoder.start_stream()
    decoder.start_utt()
    stream = Stream(decoder, int(float(partial_seconds) * SAMPLE_RATE * 2))
    buffered = bytearray()
    while True:
        try:
            data = os.read(0, 65536)
        except InterruptedError:
            continue
        if not data:
            break
        buffered += data
        while len(buffered) >= 5:
            size = int.from_bytes(buffered[1:5], "little")
            if len(buffered) < 5 + size:
                break
            kind, payload = buffered[0], bytes(buffered[5 : 5 + size])
            del buffered[: 5 + size]
            if kind == ord("a"):
                stream.audio(payload)
            elif kind == ord("w"):
                stream.add(payload)
    stream.end()


def reap(forks):
    """Reports each forked decoder that exited, by its request id (`forks`: pid -> id): {"exit": id, "code": n} or {"exit": id, "signal": "SIGKILL"}."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ident = forks.pop(pid, None)
        if ident is None:
            continue
        if os.WIFSIGNALED(status):
            emit({"exit": ident, "signal": signal.Signals(os.WTERMSIG(status)).name})
        else:
            emit({"exit": ident, "code": os.waitstatus_to_exitcode(status)})


def forked(decoder, partial_seconds, socket_path, ident, wake):
    """In the child: connect to the app, say which decoder this is, then decode what it sends."""
    code = 0
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in wake:
            os.close(fd)
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(socket_path)
        conn.sendall(json.dumps({"id": ident}).encode() + b"\n")
        # The connection is this decoder's stdin and stdout from here on.
        os.dup2(conn.fileno(), 0)
        os.dup2(conn.fileno(), 1)
        conn.close()
        run_stream(decoder, partial_seconds)
        # Its last line: it finished (if this process is gone, the app learns it from this).
        emit({"end": True})
    except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass
    except BaseException:  # noqa: BLE001 - whatever it was, this child ends here, said on stderr
        traceback.print_exc()
        code = 1
    os._exit(code)


def serve_forks(decoder, partial_seconds, socket_path):
    """
    The model loaded once, a decoder for each speaker forked from it (2-3 ms, the model's memory
    shared) instead of a process loading it again (0.3 s of CPU, 90 MB). stdin: one decimal id a
    line, a request for a decoder; stdout: {"forked": id, "pid": pid} and, as they end, reap()'s lines.
    Each forked decoder writes {"end": true} last when it finished its input.
    """
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    emit({"ready": True})
    forks = {}
    buffered = b""
    while True:
        readable, _, _ = select.select([0, wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 512)
        reap(forks)
        if 0 not in readable:
            continue
        data = os.read(0, 4096)
        if not data:
            break
        buffered += data
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            ident = int(line)
            pid = os.fork()
            if pid == 0:
                forked(decoder, partial_seconds, socket_path, ident, (wake_r, wake_w))
            forks[pid] = ident
            emit({"forked": ident, "pid": pid})


def main():
    settings = json.loads(sys.argv[1])
    decoder = configured(settings["config"])
    partial = settings.get("partial", 0.5)
    if len(sys.argv) > 2:
        serve_forks(decoder, partial, sys.argv[2])
        return
    emit({"ready": True})
    run_stream(decoder, partial)


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
