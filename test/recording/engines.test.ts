import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/platform/config.js';
import { EngineError, createEngine } from '../../src/transcription/engine.js';
import { PocketsphinxEngine } from '../../src/transcription/pocketsphinx.js';
import { toWav16k } from '../../src/transcription/audio.js';
import { freePort } from '../support/app.js';
import { speech, wer } from './media.js';

const SENTENCE = 'Please call Stella and ask her to bring these things with her from the store.';
const config = (env: Record<string, string>) => loadConfig({ SECRET_KEY: 'test-secret-key-0123456789abcdefghijklmnop', DATA_DIR: os.tmpdir(), ...env });

describe('transcription engines', () => {
  let wav: string;
  before(async () => {
    wav = path.join(os.tmpdir(), `st-engine-${process.pid}.wav`);
    await toWav16k(await speech(SENTENCE), wav);
  });

  test('pocketsphinx (the default) recognizes Festival speech with word times', async () => {
    const engine = createEngine(config({}));
    assert.ok(engine instanceof PocketsphinxEngine);
    await engine.load();
    const result = await engine.transcribe(wav);
    const text = result.utterances.map((u) => u.text).join(' ');
    assert.ok(wer(SENTENCE, text) < 0.3, text);
    assert.ok(result.utterances[0].start >= 0 && result.utterances[0].end > result.utterances[0].start);
  });

  test('pocketsphinx without its Python binding fails clearly: at load, and in a transcription, naming the package', async () => {
    // A `pocketsphinx` module that is not there, first on Python's path: as on a machine without python3-pocketsphinx.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'st-no-binding-'));
    await mkdir(path.join(dir, 'pocketsphinx'));
    await writeFile(path.join(dir, 'pocketsphinx', '__init__.py'), 'raise ImportError("no pocketsphinx here")\n');
    const before = process.env.PYTHONPATH;
    process.env.PYTHONPATH = dir;
    try {
      const engine = new PocketsphinxEngine();
      await assert.rejects(engine.load(), (e: Error) => e instanceof EngineError && /no pocketsphinx here.*python3-pocketsphinx/.test(e.message));
      await assert.rejects(engine.transcribe(wav), (e: Error) => e instanceof EngineError && /no pocketsphinx here.*python3-pocketsphinx/.test(e.message));
    } finally {
      if (before === undefined) delete process.env.PYTHONPATH;
      else process.env.PYTHONPATH = before;
      await rm(dir, { recursive: true, force: true });
    }
    // Found again once it is there.
    await new PocketsphinxEngine().load();
  });

  test('whisper: selected by TRANSCRIBE_ENGINE and loaded by the same path; a missing, unset or bad model fails clearly', async () => {
    const unset = createEngine(config({ TRANSCRIBE_ENGINE: 'whisper' }));
    assert.equal(unset?.name, 'whisper');
    await assert.rejects(
      () => unset.load(),
      (e: Error) => e instanceof EngineError && /WHISPER_MODEL_PATH is not set/.test(e.message),
    );
    const missing = createEngine(config({ TRANSCRIBE_ENGINE: 'whisper', WHISPER_MODEL_PATH: '/nonexistent/ggml-base.en.bin' }));
    await assert.rejects(() => missing!.load(), /does not exist or is not readable/);
    const bad = path.join(os.tmpdir(), `st-bad-model-${process.pid}.bin`);
    await writeFile(bad, 'this is not a ggml model');
    const badEngine = createEngine(config({ TRANSCRIBE_ENGINE: 'whisper', WHISPER_MODEL_PATH: bad }));
    await assert.rejects(() => badEngine!.load(), /is not a model whisper.cpp can load/);
    await assert.rejects(() => badEngine!.transcribe(wav), /is not a model whisper.cpp can load/);
  });

  describe('http: an OpenAI-compatible /v1/audio/transcriptions server', () => {
    let server: http.Server;
    let url: string;
    const seen: { auth?: string; model?: string; format?: string; prompt?: string }[] = [];
    before(async () => {
      // A tiny real server of that API shape, recognizing with pocketsphinx behind it.
      server = http.createServer(async (req, res) => {
        const body = await new Response(req as unknown as ReadableStream, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
        const file = body.get('file') as File;
        const prompt = body.get('prompt');
        seen.push({
          auth: req.headers.authorization,
          model: String(body.get('model')),
          format: String(body.get('response_format')),
          ...(prompt ? { prompt: String(prompt) } : {}),
        });
        if (req.url !== '/v1/audio/transcriptions' || !file) {
          res.writeHead(404).end('{}');
          return;
        }
        const upload = path.join(os.tmpdir(), `st-upload-${process.pid}.wav`);
        await writeFile(upload, Buffer.from(await file.arrayBuffer()));
        const result = await new PocketsphinxEngine().transcribe(upload, prompt ? { vocabulary: String(prompt).split(/,\s*/) } : {});
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ text: result.utterances.map((u) => u.text).join(' '), language: 'english', duration: 5, segments: result.utterances }));
      });
      const port = await freePort();
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      url = `http://127.0.0.1:${port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    test('sends the file with model and key, reads verbose_json segments', async () => {
      const engine = createEngine(
        config({ TRANSCRIBE_ENGINE: 'http', TRANSCRIBE_HTTP_URL: url, TRANSCRIBE_HTTP_API_KEY: 'sk-test-key', TRANSCRIBE_HTTP_MODEL: 'whisper-1' }),
      );
      assert.equal(engine?.name, 'http');
      const result = await engine!.transcribe(wav);
      assert.equal(result.language, 'en');
      assert.ok(wer(SENTENCE, result.utterances.map((u) => u.text).join(' ')) < 0.3);
      assert.deepEqual(seen.at(-1), { auth: 'Bearer sk-test-key', model: 'whisper-1', format: 'verbose_json' });
    });

    test("the talk's vocabulary goes to the server as the prompt", async () => {
      const engine = createEngine(config({ TRANSCRIBE_ENGINE: 'http', TRANSCRIBE_HTTP_URL: url }));
      await engine!.transcribe(wav, { vocabulary: ['stella', 'okonkwo'] });
      assert.equal(seen.at(-1)?.prompt, 'stella, okonkwo');
    });

    test('a server error becomes a readable engine error; an unset URL fails at load', async () => {
      const engine = createEngine(config({ TRANSCRIBE_ENGINE: 'http', TRANSCRIBE_HTTP_URL: `${url}/elsewhere/v1/audio/transcriptions` }));
      await assert.rejects(() => engine!.transcribe(wav), /answered 404/);
      await assert.rejects(() => createEngine(config({ TRANSCRIBE_ENGINE: 'http' }))!.load(), /TRANSCRIBE_HTTP_URL is not set/);
    });
  });
});
