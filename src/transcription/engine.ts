import type { Config } from '../platform/config.js';
import { HttpEngine } from './http.js';
import { PocketsphinxEngine } from './pocketsphinx.js';
import type { TranscriptionEngine } from './types.js';
import { WhisperEngine } from './whisper.js';

export * from './types.js';

/** The engine TRANSCRIBE_ENGINE names, or null for `none`. */
export function createEngine(config: Config): TranscriptionEngine | null {
  switch (config.TRANSCRIBE_ENGINE) {
    case 'pocketsphinx':
      return new PocketsphinxEngine();
    case 'whisper':
      return new WhisperEngine(config.WHISPER_MODEL_PATH);
    case 'http':
      return new HttpEngine({ url: config.TRANSCRIBE_HTTP_URL, apiKey: config.TRANSCRIBE_HTTP_API_KEY, model: config.TRANSCRIBE_HTTP_MODEL });
    default:
      return null;
  }
}
