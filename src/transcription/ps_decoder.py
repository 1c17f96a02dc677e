"""pocketsphinx's decoder through Debian's python3-pocketsphinx, as both of our decoders set it up:
the live captions' stream decoder (src/captions/stream-decoder.py) and the transcript's span decoder
(span-decoder.py, beside this file)."""

try:
    from pocketsphinx.pocketsphinx import Decoder  # Debian 12's python3-pocketsphinx (0.1.15, pocketsphinx 5-prealpha)
except ImportError:
    from pocketsphinx import Decoder  # later bindings (pocketsphinx 5), untested here

SAMPLE_RATE = 16000
# pocketsphinx's frames: 100 a second.
FRAME_RATE = 100.0


def configured(settings):
    """A decoder with `settings` ({"-name": value}); a value's JSON type picks the setter."""
    config = Decoder.default_config()
    for name, value in settings.items():
        if isinstance(value, bool):
            config.set_boolean(name, value)
        elif isinstance(value, int):
            config.set_int(name, value)
        elif isinstance(value, float):
            config.set_float(name, value)
        else:
            config.set_string(name, str(value))
    return Decoder(config)


def words(decoder, shift=0):
    """The utterance's words, fillers and all, as [word, start, end] in seconds; `shift` frames are taken off their times."""
    return [[s.word, (s.start_frame - shift) / FRAME_RATE, (s.end_frame + 1 - shift) / FRAME_RATE] for s in decoder.seg()]


def add_words(decoder, pending):
    """Adds the words ([word, "PH ON ES"]) the decoder does not know; a word it cannot take (bad phones) is left out."""
    new = [(w, p) for w, p in pending if isinstance(w, str) and isinstance(p, str) and decoder.lookup_word(w) is None]
    for i, (word, phones) in enumerate(new):
        try:
            decoder.add_word(word, phones, 1 if i == len(new) - 1 else 0)
        except RuntimeError:
            pass
