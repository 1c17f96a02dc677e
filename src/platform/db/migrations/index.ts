import type { Migration } from 'kysely';
import * as m001 from './001_foundation.js';

/** Numbered migrations, applied in order at start-up and by `smalltalk migrate`. Append only. */
export const migrations: Record<string, Migration> = {
  '001_foundation': m001,
};
