import { spawnTied } from '../recordings/media.js';
import type { EngineResult, TranscriptionEngine, Utterance } from './types.js';
import { EngineError } from './types.js';

export const POCKETSPHINX = 'pocketsphinx_continuous';
/** Debian's pocketsphinx-en-us model: the default of pocketsphinx_continuous, named so a missing package fails clearly. */
export const POCKETSPHINX_MODEL = '/usr/share/pocketsphinx/model/en-us';

const WORD_LINE = /^(\S+) (\d+\.\d+) (\d+\.\d+) (-?[\d.e+-]+)$/;
const NOT_WORDS = new Set(['<s>', '</s>', '<sil>']);

/**
 * Reads `pocketsphinx_continuous -time yes` output line by line: each utterance is a hypothesis
 * line, then one `word start end confidence` line per word from `<s>` to `</s>`.
 */
export class PocketsphinxParser {
  private words: { word: string; start: number; end: number }[] = [];

  constructor(private readonly onUtterance: (u: Utterance) => void) {}

  line(line: string): void {
    const m = WORD_LINE.exec(line.trim());
    if (!m) return;
    const [, raw, s, e] = m;
    const start = Number(s);
    const end = Number(e);
    if (raw === '<s>') {
      this.words = [];
    } else if (raw === '</s>') {
      const text = this.words.map((w) => w.word).join(' ');
      const first = this.words[0];
      const last = this.words[this.words.length - 1];
      if (first && last && text) this.onUtterance({ start: first.start, end: last.end, text });
      this.words = [];
    } else if (!NOT_WORDS.has(raw) && !/^\[.*\]$/.test(raw) && !/^\+\+.*\+\+$/.test(raw)) {
      this.words.push({ word: raw.replace(/\(\d+\)$/, ''), start, end });
    }
  }
}

export function pocketsphinxArgs(infile: string): string[] {
  return [
    '-infile',
    infile,
    '-time',
    'yes',
    '-logfn',
    '/dev/null',
    '-hmm',
    `${POCKETSPHINX_MODEL}/en-us`,
    '-lm',
    `${POCKETSPHINX_MODEL}/en-us.lm.bin`,
    '-dict',
    `${POCKETSPHINX_MODEL}/cmudict-en-us.dict`,
  ];
}

/** Debian's pocketsphinx (0.8) run as a child process: offline, no model download. */
export class PocketsphinxEngine implements TranscriptionEngine {
  readonly name = 'pocketsphinx' as const;

  async load(): Promise<void> {
    const { access } = await import('node:fs/promises');
    try {
      await access(`${POCKETSPHINX_MODEL}/en-us.lm.bin`);
    } catch {
      throw new EngineError(
        `pocketsphinx: the English model is missing under ${POCKETSPHINX_MODEL} (install Debian's pocketsphinx-en-us; scripts/setup-system.sh does)`,
      );
    }
  }

  transcribe(wavFile: string): Promise<EngineResult> {
    return new Promise((resolve, reject) => {
      const utterances: Utterance[] = [];
      const parser = new PocketsphinxParser((u) => utterances.push(u));
      const child = spawnTied(POCKETSPHINX, pocketsphinxArgs(wavFile), { stdio: ['ignore', 'pipe', 'pipe'] });
      let buffered = '';
      let err = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const l of lines) parser.line(l);
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        err = (err + d).slice(-1000);
      });
      child.once('error', (e) => reject(new EngineError(`pocketsphinx could not start: ${e.message}`)));
      child.once('close', (code, signal) => {
        if (buffered) parser.line(buffered);
        if (signal) reject(new EngineError(`pocketsphinx stopped by ${signal}`));
        else if (code !== 0) reject(new EngineError(`pocketsphinx exited with ${code}: ${err.trim()}`));
        else resolve({ language: 'en', utterances });
      });
    });
  }
}
