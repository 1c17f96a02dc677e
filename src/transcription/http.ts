import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EngineResult, TranscribeOptions, TranscriptionEngine } from './types.js';
import { EngineError } from './types.js';

/** An OpenAI-compatible `POST /v1/audio/transcriptions` server the operator runs (TRANSCRIBE_HTTP_URL is its base URL). */
export class HttpEngine implements TranscriptionEngine {
  readonly name = 'http' as const;

  constructor(private readonly options: { url: string | undefined; apiKey: string | undefined; model: string; timeoutMs?: number }) {}

  async load(): Promise<void> {
    if (!this.options.url) throw new EngineError('http: TRANSCRIBE_HTTP_URL is not set (the base URL of an OpenAI-compatible server)');
  }

  private endpoint(): string {
    const base = (this.options.url ?? '').replace(/\/+$/, '');
    return base.endsWith('/audio/transcriptions') ? base : `${base.endsWith('/v1') ? base : `${base}/v1`}/audio/transcriptions`;
  }

  async transcribe(wavFile: string, options: TranscribeOptions = {}): Promise<EngineResult> {
    await this.load();
    const form = new FormData();
    form.append('file', new Blob([await readFile(wavFile)], { type: 'audio/wav' }), path.basename(wavFile));
    form.append('model', this.options.model);
    form.append('response_format', 'verbose_json');
    form.append('timestamp_granularities[]', 'segment');
    // The talk's own words as the API's prompt, which biases the model toward their spelling.
    if (options.vocabulary?.length) form.append('prompt', options.vocabulary.join(', '));
    const headers: Record<string, string> = {};
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const res = await fetch(this.endpoint(), { method: 'POST', body: form, headers, signal: AbortSignal.timeout(this.options.timeoutMs ?? 600_000) });
    if (!res.ok) throw new EngineError(`http: ${this.endpoint()} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const body = (await res.json()) as { text?: string; language?: string; duration?: number; segments?: { start: number; end: number; text: string }[] };
    const segments = body.segments ?? (body.text ? [{ start: 0, end: body.duration ?? 0, text: body.text }] : []);
    return {
      language: normalizeLanguage(body.language),
      utterances: segments.map((s) => ({ start: s.start, end: s.end, text: s.text.trim() })).filter((u) => u.text),
    };
  }
}

/** OpenAI answers `english`; our transcripts carry codes like `en`. */
function normalizeLanguage(language: string | undefined): string {
  if (!language) return 'en';
  return language.toLowerCase() === 'english' ? 'en' : language;
}
