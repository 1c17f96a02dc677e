import { lstatSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TRIE_HEADER = 'Trie Language Model';

/**
 * The words of a binary n-gram model in sphinxbase's trie format (pocketsphinx's `.lm.bin`): the
 * header, the order (one byte), a count per order (uint32, the first is the number of words), the
 * trie, then the words themselves, each ended by a NUL, at the very end of the file. Null when the
 * file is not in that format.
 */
export function languageModelWords(file: string): Set<string> | null {
  const data = readFileSync(file);
  if (data.toString('latin1', 0, TRIE_HEADER.length) !== TRIE_HEADER) return null;
  const count = data.readUInt32LE(TRIE_HEADER.length + 1);
  // Back from the end to the NUL after the first word (only the list's bytes become a string: the
  // whole 27 MB file as one took half a second).
  let after = data.length - 1;
  for (let nuls = 1; nuls < count; ) {
    if (--after < 0) return null;
    if (data[after] === 0) nuls++;
  }
  // The first word starts where the list's length in bytes, just before it, says.
  for (let start = after; start >= Math.max(4, after - 256); start--) {
    if (data.readInt32LE(start - 4) !== data.length - start) continue;
    const found = data.toString('utf8', start, data.length - 1).split('\0');
    return found.length === count ? new Set(found) : null;
  }
  return null;
}

/** The lines of a pocketsphinx dictionary whose word (alternates "word(2)" included) the model has. */
export function dictionaryFor(dictionary: string, words: Set<string>): string {
  return dictionary
    .split('\n')
    .filter((line) => {
      const word = line.slice(0, line.indexOf(' '));
      // "word(2)": an alternate pronunciation of "word".
      return words.has(word.endsWith(')') ? word.slice(0, word.lastIndexOf('(')) : word);
    })
    .join('\n')
    .concat('\n');
}

const made = new Map<string, string>();

/**
 * The dictionary a decoder loads: `dictionary` without the words the language model lacks, which
 * pocketsphinx's n-gram search never considers, so what it recognizes is the same (checked on
 * Debian's LibriVox utterances). With Debian's en-us model that is 79,420 of 134,723 entries, and
 * a decoder starts in about 0.17 s of CPU instead of 0.22 s and 14 MB smaller
 * (docs/benchmarks.md, transcription).
 *
 * Made once per model (about 0.1-0.4 s, synchronously, by the first decoder to start: the live captions'
 * model process at start-up when live captions are on) and kept in a directory of this user's own under the temporary directory
 * (0700, checked before use, so another user cannot plant a dictionary there); the full dictionary
 * when the model is in another format or the file cannot be written.
 */
export function decoderDictionary(languageModel: string, dictionary: string, dir = path.join(os.tmpdir(), `smalltalk-${os.userInfo().uid}`)): string {
  const key = `${languageModel}\n${dictionary}\n${dir}`;
  const known = made.get(key);
  if (known) return known;
  let chosen = dictionary;
  try {
    const lm = statSync(languageModel);
    const dict = statSync(dictionary);
    mkdirSync(dir, { mode: 0o700, recursive: true });
    const own = lstatSync(dir);
    if (!own.isDirectory() || own.uid !== os.userInfo().uid || (own.mode & 0o077) !== 0) throw new Error(`${dir} is not this user's own`);
    const file = path.join(dir, `lm-${lm.size}-${Math.trunc(lm.mtimeMs)}-dict-${dict.size}-${Math.trunc(dict.mtimeMs)}.dict`);
    if (!isFile(file)) {
      const words = languageModelWords(languageModel);
      if (!words) throw new Error('not a trie language model');
      const temporary = `${file}.${process.pid}`;
      writeFileSync(temporary, dictionaryFor(readFileSync(dictionary, 'utf8'), words), { mode: 0o600 });
      renameSync(temporary, file);
    }
    chosen = file;
  } catch {
    // The full dictionary: the same words recognized, a slower start.
  }
  made.set(key, chosen);
  return chosen;
}

function isFile(file: string): boolean {
  try {
    const found = lstatSync(file);
    return found.isFile() && found.size > 0;
  } catch {
    return false;
  }
}
