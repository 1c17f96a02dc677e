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


# pocketsphinx's floating-point flags. The binding has one setter per type and does not check it
# against the flag's (set_int on a float flag reads back as 5e-323; set_string on one crashed), and
# JSON cannot say 10.0 from 10, so the setter is chosen by the flag's name.
FLOAT_FLAGS = {
    "-alpha", "-ascale", "-beam", "-bestpathlw", "-fillprob", "-fsgwbeam", "-fwdflatbeam", "-fwdflatlw",
    "-fwdflatwbeam", "-kws_plp", "-kws_threshold", "-lowerf", "-lpbeam", "-lponlybeam", "-lw", "-mixwfloor",
    "-nwpen", "-pbeam", "-pip", "-pl_beam", "-pl_pbeam", "-pl_pip", "-pl_weight", "-samprate", "-silprob",
    "-tmatfloor", "-upperf", "-uw", "-vad_threshold", "-varfloor", "-wbeam", "-wip", "-wlen",
}


def configured(settings):
    """A decoder with `settings` ({"-name": value}): true/false, numbers (floats by FLOAT_FLAGS), strings.

    A number that does not parse raises ValueError rather than being set as something else."""
    config = Decoder.default_config()
    for name, value in settings.items():
        if isinstance(value, bool):
            config.set_boolean(name, value)
        elif name in FLOAT_FLAGS:
            config.set_float(name, float(value))
        elif isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit()):
            config.set_int(name, int(value))
        elif isinstance(value, float):
            raise ValueError(f"{name} takes an integer, not {value}")
        else:
            config.set_string(name, str(value))
    return Decoder(config)


def words(decoder, shift=0):
    """The utterance's words, fillers and all, as [word, start, end] in seconds; `shift` frames are taken off their times."""
    return [[s.word, (s.start_frame - shift) / FRAME_RATE, (s.end_frame + 1 - shift) / FRAME_RATE] for s in decoder.seg()]


def add_words(decoder, pending):
    """Adds the words ([word, "PH ON ES"]) the decoder does not know; a word it cannot take is left out.

    The search is rebuilt once, with the last word (0.13 s a rebuild here). A word fails only on a phone
    the model lacks, and the words' pronunciations keep to its phones (vocabulary.ts, pronounce), so
    the last one does not fail and leave the others unsearched."""
    new = [(w, p) for w, p in pending if isinstance(w, str) and isinstance(p, str) and decoder.lookup_word(w) is None]
    for i, (word, phones) in enumerate(new):
        try:
            decoder.add_word(word, phones, 1 if i == len(new) - 1 else 0)
        except RuntimeError:
            pass
