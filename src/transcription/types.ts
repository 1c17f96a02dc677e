/** One recognized word, times in seconds. */
export interface Word {
  word: string;
  start: number;
  end: number;
}

/** A stretch of recognized speech, times in seconds from the start of the audio given. */
export interface Utterance {
  start: number;
  end: number;
  text: string;
  /** Word times, when the engine gives them. */
  words?: Word[];
}

/** What the recognizer may know about the talk: its own words (name, description, participants' names). */
export interface TranscribeOptions {
  vocabulary?: string[];
}

export interface EngineResult {
  language: string;
  utterances: Utterance[];
}

/** A speech recognizer. Input is always a 16 kHz mono 16-bit WAV file. */
export interface TranscriptionEngine {
  readonly name: 'pocketsphinx' | 'whisper' | 'http';
  /** Checks that the engine can run (model present and loadable); throws a readable error if not. */
  load(): Promise<void>;
  transcribe(wavFile: string, options?: TranscribeOptions): Promise<EngineResult>;
  close?(): Promise<void>;
}

export class EngineError extends Error {}
