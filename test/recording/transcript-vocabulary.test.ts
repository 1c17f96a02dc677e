import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { LiveVocabulary } from '../../src/captions/captioner.js';
import type { SpeakerRecognizer } from '../../src/captions/recognizer.js';
import { PocketsphinxEngine } from '../../src/transcription/pocketsphinx.js';
import { toWav16k } from '../../src/transcription/audio.js';
import { pronounce, talkVocabulary } from '../../src/transcription/vocabulary.js';
import { requireProgram } from '../support/processes.js';
import { speech } from './media.js';

const LINE = 'Our guest tonight is Vikram Raghunathan.';
const VOCABULARY = talkVocabulary(['Permaculture night', 'With our guest', 'Vikram Raghunathan', 'Siobhan Okonkwo']);

describe("the talk's vocabulary (real Festival speech, pocketsphinx)", () => {
  test('talkVocabulary: distinct lower-case words of three letters or more', () => {
    assert.deepEqual(talkVocabulary(['The Garden Hour', "Hana's garden", null, 'Al Bo']), ['the', 'garden', 'hour', "hana's"]);
  });

  test("Festival's pronunciation of a name is asked once: asked again, it comes without running Festival", async () => {
    const first = await pronounce(['okonkwo']);
    assert.equal(first[0]?.inDictionary, false, JSON.stringify(first));
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent'; // no Festival (nor setpriv) to run now
    try {
      assert.deepEqual(await pronounce(['okonkwo']), first);
      assert.deepEqual(await pronounce(['siobhanne']), [], 'a word never asked about needs Festival');
    } finally {
      process.env.PATH = path;
    }
    assert.equal((await pronounce(['siobhanne'])).length, 1, 'asked again once Festival is back');
  });

  test('concurrent lookups of the same new words run Festival once', async () => {
    // A wrapper first on the PATH counts Festival's runs, then runs the real one.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'festival-count-'));
    const log = path.join(dir, 'runs');
    const real = requireProgram('festival');
    await writeFile(path.join(dir, 'festival'), `#!/bin/sh\necho run >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const saved = process.env.PATH;
    process.env.PATH = `${dir}:${saved}`;
    try {
      const words = ['thandiwe', 'nkosazana'];
      const [a, b] = await Promise.all([pronounce(words), pronounce(words)]);
      assert.equal(a.length, 2, JSON.stringify(a));
      assert.deepEqual(b, a);
      assert.equal((await readFile(log, 'utf8')).trim().split('\n').length, 1, 'one Festival run for both');
    } finally {
      process.env.PATH = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('live captions: a name not found while Festival was missing is found when it comes again', async () => {
    const vocabulary = new LiveVocabulary();
    const given: string[] = [];
    vocabulary.listen({ addWords: (words: { word: string }[]) => given.push(...words.map((w) => w.word)) } as unknown as SpeakerRecognizer);
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      vocabulary.add(['Zanele Mbekwa']);
      await vocabulary.apply([]); // after the lookup
    } finally {
      process.env.PATH = saved;
    }
    assert.deepEqual(given, [], 'nothing found without Festival');
    vocabulary.add(['Zanele Mbekwa']); // the speaker rejoins
    await vocabulary.apply([]);
    assert.deepEqual(given.sort(), ['mbekwa', 'zanele']);
  });

  test('a participant name the dictionary lacks is recognized only with the vocabulary', async () => {
    const wav = path.join(os.tmpdir(), `st-vocab-${process.pid}.wav`);
    await toWav16k(await speech(LINE), wav);
    const engine = new PocketsphinxEngine();
    const plain = (await engine.transcribe(wav)).utterances.map((u) => u.text).join(' ');
    const helped = (await engine.transcribe(wav, { vocabulary: VOCABULARY })).utterances.map((u) => u.text).join(' ');
    assert.doesNotMatch(plain, /raghunathan/, plain);
    assert.match(helped, /raghunathan/, `${plain} -> ${helped}`);
  });

  test("the talk's words are added to the decoder: it recognizes them where matching by sound afterwards could not", async () => {
    // pocketsphinx_batch (the decoder before span-decoder.py) heard "prayer mat counter night with
    // siobhan i think well" here, with the same vocabulary matched by sound.
    const wav = path.join(os.tmpdir(), `st-vocab-added-${process.pid}.wav`);
    await toWav16k(await speech('Welcome to permaculture night with Siobhan Okonkwo.'), wav);
    const engine = new PocketsphinxEngine();
    const plain = (await engine.transcribe(wav)).utterances.map((u) => u.text).join(' ');
    const result = await engine.transcribe(wav, { vocabulary: VOCABULARY });
    const helped = result.utterances.map((u) => u.text).join(' ');
    assert.doesNotMatch(plain, /permaculture|okonkwo/, plain);
    assert.match(helped, /permaculture night with siobhan okonkwo/, `${plain} -> ${helped}`);
    const words = result.utterances.flatMap((u) => u.words ?? []);
    for (const w of words) assert.ok(w.start < w.end, JSON.stringify(w));
  });
});
