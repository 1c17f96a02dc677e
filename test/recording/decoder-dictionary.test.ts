import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { run } from '../../src/platform/media.js';
import { decoderDictionary, dictionaryFor, languageModelWords } from '../../src/transcription/decoder-dictionary.js';
import { POCKETSPHINX, POCKETSPHINX_MODEL } from '../../src/transcription/pocketsphinx.js';
import { toWav16k } from '../../src/transcription/audio.js';
import { speech } from './media.js';

const LM = `${POCKETSPHINX_MODEL}/en-us.lm.bin`;
const DICT = `${POCKETSPHINX_MODEL}/cmudict-en-us.dict`;
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

describe("the decoders' dictionary: pocketsphinx's, without the words its language model lacks (real model, real pocketsphinx)", () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'st-dict-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test("reads the language model's words from its binary file", () => {
    const words = languageModelWords(LM);
    assert.ok(words, 'a trie model');
    assert.equal(words.size, 72_547);
    for (const w of ['the', 'garden', 'tomatoes', "'cause", "zyuganov's"]) assert.ok(words.has(w), w);
    assert.ok(!words.has('raghunathan'));
  });

  test('keeps only the lines of words the model has, alternate pronunciations included', () => {
    const kept = dictionaryFor('the DH AH\nthe(2) DH IY\nzzyzx Z IH Z\ngarden G AA R D AH N\n', new Set(['the', 'garden']));
    assert.equal(kept, 'the DH AH\nthe(2) DH IY\ngarden G AA R D AH N\n');
  });

  test('a decoder recognizes the same words with it, from a smaller dictionary', async () => {
    const trimmed = decoderDictionary(LM, DICT, path.join(scratch, 'own'));
    assert.notEqual(trimmed, DICT);
    const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').length;
    assert.ok(lines(trimmed) < lines(DICT) * 0.7, `${lines(trimmed)} of ${lines(DICT)}`);
    // Made once: the same file the second time.
    assert.equal(decoderDictionary(LM, DICT, path.join(scratch, 'own')), trimmed);

    const festival = path.join(scratch, 'f.wav');
    await toWav16k(await speech('Welcome everyone to our weekly talk about the garden.'), festival);
    for (const wav of [festival, path.join(LIBRIVOX, 'sense_and_sensibility_01_austen_64kb-0870.wav')]) {
      const decode = (dict: string) =>
        run(POCKETSPHINX, ['-infile', wav, '-time', 'yes', '-logfn', '/dev/null', '-hmm', `${POCKETSPHINX_MODEL}/en-us`, '-lm', LM, '-dict', dict]);
      const [full, small] = await Promise.all([decode(DICT), decode(trimmed)]);
      assert.ok(full.trim().length > 20, full);
      assert.equal(small, full, `words and times differ for ${path.basename(wav)}`);
    }
  });

  test('the full dictionary when the directory is not this user’s alone, or the model is not a trie', () => {
    const shared = path.join(scratch, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    assert.equal(decoderDictionary(LM, DICT, shared), DICT);

    const notTrie = path.join(scratch, 'arpa.lm');
    writeFileSync(notTrie, '\\data\\\nngram 1=1\n');
    assert.equal(languageModelWords(notTrie), null);
    assert.equal(decoderDictionary(notTrie, DICT, path.join(scratch, 'other')), DICT);
  });
});
