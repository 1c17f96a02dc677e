import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PocketsphinxEngine, decodePhrase } from '../../src/transcription/pocketsphinx.js';
import { toWav16k } from '../../src/transcription/audio.js';
import { wavSamples } from '../../src/transcription/vad.js';
import { talkVocabulary } from '../../src/transcription/vocabulary.js';
import { readFile } from 'node:fs/promises';
import { speech } from './media.js';

const LINE = 'Our guest tonight is Vikram Raghunathan.';
const VOCABULARY = talkVocabulary(['Permaculture night', 'With our guest', 'Vikram Raghunathan', 'Siobhan Okonkwo']);

describe("the talk's vocabulary (real Festival speech, pocketsphinx)", () => {
  test('talkVocabulary: distinct lower-case words of three letters or more', () => {
    assert.deepEqual(talkVocabulary(['The Garden Hour', "Hana's garden", null, 'Al Bo']), ['the', 'garden', 'hour', "hana's"]);
  });

  test('a participant name the dictionary lacks is recognized only with the vocabulary', async () => {
    const wav = path.join(os.tmpdir(), `st-vocab-${process.pid}.wav`);
    await toWav16k(await speech(LINE), wav);
    const engine = new PocketsphinxEngine();
    const plain = (await engine.transcribe(wav)).utterances.map((u) => u.text).join(' ');
    const helped = (await engine.transcribe(wav, { vocabulary: VOCABULARY })).utterances.map((u) => u.text).join(' ');
    assert.doesNotMatch(plain, /raghunathan/, plain);
    assert.match(helped, /raghunathan/, `${plain} -> ${helped}`);
    // The same through the function live captions use, on the phrase's PCM.
    const words = await decodePhrase(wavSamples(await readFile(wav)), { vocabulary: VOCABULARY });
    assert.ok(
      words.some((w) => w.word === 'raghunathan'),
      JSON.stringify(words),
    );
    for (const w of words) assert.ok(w.start < w.end);
  });
});
