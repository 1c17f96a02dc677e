import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { EngineResult, TranscriptionEngine } from './types.js';
import { EngineError } from './types.js';

interface WhisperSegment {
  text: string;
  /** whisper.cpp times are in units of 10 ms. */
  t0: number;
  t1: number;
}
interface WhisperContext {
  transcribeFile(file: string, options?: { language?: string }): { promise: Promise<{ language?: string; result: string; segments: WhisperSegment[] }> };
  release(): Promise<void>;
}
interface WhisperBinding {
  initWhisper(options: { filePath: string; useGpu?: boolean }): Promise<WhisperContext>;
}

/** whisper.cpp through @fugood/whisper.node (prebuilt CPU binary from npm); the operator supplies the model file. */
export class WhisperEngine implements TranscriptionEngine {
  readonly name = 'whisper' as const;
  private context: WhisperContext | null = null;

  constructor(private readonly modelPath: string | undefined) {}

  async load(): Promise<void> {
    if (this.context) return;
    if (!this.modelPath) throw new EngineError('whisper: WHISPER_MODEL_PATH is not set (a ggml model file such as ggml-base.en.bin)');
    try {
      await access(this.modelPath);
    } catch {
      throw new EngineError(`whisper: the model file WHISPER_MODEL_PATH=${this.modelPath} does not exist or is not readable`);
    }
    let binding: WhisperBinding;
    try {
      binding = createRequire(import.meta.url)('@fugood/whisper.node') as WhisperBinding;
    } catch (err) {
      throw new EngineError(`whisper: the whisper.cpp binding @fugood/whisper.node could not be loaded: ${(err as Error).message}`);
    }
    try {
      this.context = await binding.initWhisper({ filePath: this.modelPath, useGpu: false });
    } catch (err) {
      throw new EngineError(`whisper: ${this.modelPath} is not a model whisper.cpp can load (${(err as Error).message})`);
    }
  }

  async transcribe(wavFile: string): Promise<EngineResult> {
    await this.load();
    const context = this.context as WhisperContext;
    const result = await context.transcribeFile(wavFile, { language: 'en' }).promise;
    return {
      language: result.language ?? 'en',
      utterances: result.segments.map((s) => ({ start: s.t0 / 100, end: s.t1 / 100, text: s.text.trim() })).filter((u) => u.text),
    };
  }

  async close(): Promise<void> {
    await this.context?.release();
    this.context = null;
  }
}
