import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DecoderPool, decoderFrame } from '../../src/captions/decoder.js';
import { readJsonLines } from '../../src/platform/media.js';
import type { MediaChild } from '../../src/platform/spawner.js';
import { run } from '../../src/platform/media.js';
import { parentOf } from '../support/processes.js';
import { speech } from './media.js';

/** A real phrase as the recognizer sends it: 16 kHz mono PCM, with near-silence around it (the detector ends the phrase at the pause). */
async function phrasePcm(text: string, dir: string, name: string): Promise<Buffer> {
  const raw = path.join(dir, `${name}.pcm`);
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', await speech(text), '-ar', '16000', '-ac', '1', '-f', 's16le', raw]);
  const quiet = (seconds: number) => {
    const pcm = new Int16Array(16_000 * seconds);
    for (let i = 0; i < pcm.length; i++) pcm[i] = (i % 3) - 1;
    return Buffer.from(pcm.buffer);
  };
  return Buffer.concat([quiet(0.3), await readFile(raw), quiet(1.5)]);
}

/** Feeds `pcm` in 100-ms frames, ends the input, and resolves with the phrases' words and how the decoder ended. */
function decode(decoder: MediaChild, pcm: Buffer): Promise<{ phrases: string[]; code: number | null; signal: NodeJS.Signals | null }> {
  const phrases: string[] = [];
  readJsonLines(decoder, (line: { phrase?: [string, number, number][] }) => {
    if (line.phrase)
      phrases.push(
        line.phrase
          .map(([w]) => w.replace(/\(\d+\)$/, ''))
          .filter((w) => !w.startsWith('<') && !w.startsWith('['))
          .join(' '),
      );
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    decoder.once('close', (code, signal) => resolve({ code, signal })),
  );
  for (let i = 0; i < pcm.length; i += 3200) decoder.stdin?.write(decoderFrame('a', pcm.subarray(i, i + 3200)));
  decoder.stdin?.end();
  return closed.then((c) => ({ phrases, ...c }));
}

async function pidOf(decoder: MediaChild): Promise<number> {
  for (let i = 0; i < 300 && decoder.pid === undefined; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(decoder.pid, 'the decoder was forked');
  return decoder.pid;
}

/**
 * Every live speaker's decoder is forked from one process that loaded the model (issue 15: ten
 * speakers starting at once each loaded it during their first phrase). Real pocketsphinx, real
 * Festival speech: each forked decoder decodes its own input, and ends as a process would.
 */
test('live caption decoders forked from one model process: each decodes its own speech; a killed one and a dead model process are handled', {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'st-decoder-pool-'));
  const broken: string[] = [];
  const pool = new DecoderPool((why) => broken.push(why));
  try {
    const [evening, seeds] = await Promise.all([
      phrasePcm('Good evening and thank you for coming.', dir, 'evening'),
      phrasePcm('I brought some seeds from my farm.', dir, 'seeds'),
    ]);
    pool.warm();
    const three = [pool.take(), pool.take(), pool.take()];
    const pids = await Promise.all(three.map(pidOf));
    assert.equal(new Set(pids).size, 3, 'three processes');
    const model = parentOf(pids[0]);
    assert.ok(
      pids.every((p) => parentOf(p) === model),
      'all forked by one process',
    );
    assert.match(readFileSync(`/proc/${model}/cmdline`, 'utf8'), /stream-decoder\.py/);
    const results = await Promise.all(three.map((d, i) => decode(d, i === 1 ? seeds : evening)));
    for (const [i, r] of results.entries()) {
      assert.deepEqual([r.code, r.signal], [0, null], `decoder ${i} ended normally`);
      const text = r.phrases.join(' | ');
      assert.match(text, i === 1 ? /\bseeds\b.*\bfarm\b/ : /\bevening\b.*\bthank you\b/, `decoder ${i} heard its own phrase: ${text}`);
    }

    // Killed (as a decoder that fell behind is): reported as a killed process.
    const killed = pool.take();
    await pidOf(killed);
    const killedClose = new Promise((resolve) => killed.once('close', (code, signal) => resolve([code, signal])));
    killed.kill('SIGKILL');
    assert.deepEqual(await killedClose, [null, 'SIGKILL']);

    // The model process dies: a decoder it forked goes on; the next one comes from a new model process.
    const survivor = pool.take();
    await pidOf(survivor);
    process.kill(model, 'SIGKILL');
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(model, 0);
        await new Promise((r) => setTimeout(r, 20));
      } catch {
        break;
      }
    }
    // While that decoder still runs (it holds the dead process's stderr open), the next one comes from a new model process.
    const next = pool.take();
    const nextPid = await pidOf(next);
    assert.notEqual(parentOf(nextPid), model, 'forked by a new model process');
    assert.match((await decode(next, seeds)).phrases.join(' '), /\bseeds\b/);
    const afterDeath = await decode(survivor, evening);
    assert.match(afterDeath.phrases.join(' '), /\bevening\b/, 'a running decoder outlives its model process');
    assert.deepEqual([afterDeath.code, afterDeath.signal], [0, null], 'and its normal end is known without its model process');
    assert.deepEqual(broken, [], 'a model process killed by a signal is not reported as broken');
  } finally {
    pool.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a model process that cannot load pocketsphinx is reported, and the decoders asked of it end as failed', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'st-decoder-pool-'));
  // A `pocketsphinx` module that is not there, first on Python's path: as on a machine without python3-pocketsphinx.
  await run('mkdir', ['-p', path.join(dir, 'pocketsphinx')]);
  await writeFile(path.join(dir, 'pocketsphinx', '__init__.py'), 'raise ImportError("no pocketsphinx here")\n');
  const before = process.env.PYTHONPATH;
  process.env.PYTHONPATH = dir;
  const broken: string[] = [];
  const pool = new DecoderPool((why) => broken.push(why));
  try {
    pool.warm();
    const decoder = pool.take();
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => decoder.once('close', (c, s) => resolve([c, s])));
    assert.notEqual(code, 0, `the decoder did not end normally (${code}, ${signal})`);
    for (let i = 0; i < 100 && !broken.length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(broken.length, 1, broken.join(' | '));
    assert.match(broken[0], /stream-decoder\.py\) exited with 1: .*ImportError: no pocketsphinx here/s);
  } finally {
    if (before === undefined) delete process.env.PYTHONPATH;
    else process.env.PYTHONPATH = before;
    pool.close();
    await rm(dir, { recursive: true, force: true });
  }
});
