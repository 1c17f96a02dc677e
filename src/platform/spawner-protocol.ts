/** What the app and its spawner (spawner.ts, spawner-process.ts) say to each other. Imports nothing. */

/** From the app: start a child; `pipes` are the stdio (0, 1, 2) it connects for it, the rest are ignored. */
export interface SpawnRequest {
  type: 'spawn';
  id: number;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  pipes: number[];
}

/** From the spawner. */
export type SpawnerEvent =
  | { type: 'ready'; path: string }
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'failed'; id: number; code: string; message: string }
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null };

/** The first bytes the app writes on each stdio connection: the child's id and which stdio, fixed length. */
export const HEADER_BYTES = 16;

export function header(id: number, stdio: number): string {
  return `${String(id).padStart(13, '0')} ${stdio}\n`;
}

export function parseHeader(bytes: Buffer): { id: number; stdio: number } | null {
  const m = /^(\d{13}) ([012])\n$/.exec(bytes.toString('latin1'));
  return m ? { id: Number(m[1]), stdio: Number(m[2]) } : null;
}
