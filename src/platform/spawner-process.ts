/**
 * The spawner (spawner.ts): a small process that starts the app's media children (ffmpeg,
 * pocketsphinx) so that the app's own event loop never waits for one to start. It runs this file
 * alone, with no other module of the app.
 *
 * From the app over IPC: `spawn` (command, arguments, environment, working directory, which stdio
 * are piped). For each piped stdio the app connects to this process's Unix socket and writes a
 * fixed-length header naming the child and the stdio; once a child's connections and its `spawn`
 * have all arrived (in either order), the child starts with those connections as its stdin, stdout
 * or stderr, and this process closes its own copies: the data flows between the child and the app.
 * To the app: `ready` (the socket's path), `spawned` (the pid), `failed` (could not start), `exit`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HEADER_BYTES, type SpawnRequest, type SpawnerEvent, parseHeader } from './spawner-protocol.js';

interface Pending {
  request: SpawnRequest | null;
  sockets: Map<number, net.Socket>;
}

const pending = new Map<number, Pending>();
const running = new Map<number, ChildProcess>();
const dir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-spawner-'));
const socketPath = path.join(dir, 's');

function tell(event: SpawnerEvent) {
  process.send?.(event);
}

function entry(id: number): Pending {
  let p = pending.get(id);
  if (!p) {
    p = { request: null, sockets: new Map() };
    pending.set(id, p);
  }
  return p;
}

/** Starts the child once its request and every piped stdio's connection are here. */
function startIfComplete(id: number) {
  const p = pending.get(id);
  if (!p?.request || p.request.pipes.some((i) => !p.sockets.has(i))) return;
  pending.delete(id);
  const { command, args, env, cwd, pipes } = p.request;
  const stdio = [0, 1, 2].map((i) => (pipes.includes(i) ? (p.sockets.get(i) as net.Socket) : 'ignore'));
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio, env, cwd });
  } catch (err) {
    for (const s of p.sockets.values()) s.destroy();
    tell({ type: 'failed', id, code: (err as NodeJS.ErrnoException).code ?? 'ERROR', message: (err as Error).message });
    return;
  }
  // The child holds its own copies: ours would keep the app's end from seeing the child close it.
  for (const s of p.sockets.values()) s.destroy();
  child.once('error', (err: NodeJS.ErrnoException) => {
    running.delete(id);
    tell({ type: 'failed', id, code: err.code ?? 'ERROR', message: err.message });
  });
  if (child.pid === undefined) return; // 'error' follows
  running.set(id, child);
  tell({ type: 'spawned', id, pid: child.pid });
  child.once('exit', (code, signal) => {
    running.delete(id);
    tell({ type: 'exit', id, code, signal });
  });
}

const server = net.createServer((socket) => {
  socket.on('error', () => undefined);
  // Only the header: the app writes nothing after it until the child has started (and holds the
  // connection itself), so what the child reads or writes never passes through here.
  const readHeader = () => {
    const header = socket.read(HEADER_BYTES) as Buffer | null;
    if (!header) return;
    socket.off('readable', readHeader);
    const named = parseHeader(header);
    if (!named) return socket.destroy();
    entry(named.id).sockets.set(named.stdio, socket);
    startIfComplete(named.id);
  };
  socket.on('readable', readHeader);
});

process.on('message', (m: SpawnRequest) => {
  if (m?.type !== 'spawn') return;
  entry(m.id).request = m;
  startIfComplete(m.id);
});

// The app closed the channel (it stops, or it died: then our parent-death signal ends us first).
process.on('disconnect', () => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
  // Children still running finish on their own (the app asked them to stop); then we exit.
  const waitForChildren = () => (running.size === 0 ? process.exit(0) : setTimeout(waitForChildren, 100));
  waitForChildren();
});

server.listen(socketPath, () => tell({ type: 'ready', path: socketPath }));
