import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, SfuWorkerOptions, ToWorker } from './protocol.js';

/** What a worker talks to the pool through: its thread's parent port, or its process's IPC channel. */
export interface PoolPort {
  postMessage(m: FromWorker): void;
  on(event: 'message', listener: (m: ToWorker) => void): unknown;
}

/** The first message a worker process gets: what a worker thread gets as `workerData`. */
export interface InitMessage {
  type: 'init';
  options: SfuWorkerOptions;
}

export interface WorkerStart {
  options: SfuWorkerOptions;
  port: PoolPort;
  /** The other workers of a thread pool (a worker process has none). */
  relayPorts: Record<number, MessagePort>;
}

/**
 * How an SFU worker starts: as a worker thread (werift: `workerData` and the parent port) or as a
 * child process (datachannel: its options in the first IPC message, so TURN credentials never
 * appear in a process listing).
 */
export async function startWorker(): Promise<WorkerStart> {
  if (parentPort) {
    const data = workerData as { options: SfuWorkerOptions; relayPorts: Record<number, MessagePort> };
    return { options: data.options, relayPorts: data.relayPorts, port: parentPort };
  }
  if (!process.send) throw new Error('an SFU worker runs in a worker thread or in a process forked with an IPC channel');
  // The server's process gone (stopped, killed, crashed): its media goes with it, which frees the UDP port.
  process.on('disconnect', () => process.exit(0));
  // Signals meant for the whole process group (systemd stopping the service, Ctrl-C, a closed terminal)
  // are the server's to act on: it closes the peers and ends this process itself. Dying of them first,
  // this process looked to the server like a media crash mid-stop.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
  // Messages that arrive before the core listens are kept for it, in order (a process drops a
  // message nothing listens for).
  const queued: ToWorker[] = [];
  let listener: ((m: ToWorker) => void) | null = null;
  const options = await new Promise<SfuWorkerOptions>((resolve) => {
    process.on('message', (m: ToWorker | InitMessage) => {
      if (m.type === 'init') resolve(m.options);
      else if (listener) listener(m);
      else queued.push(m);
    });
  });
  const port: PoolPort = {
    postMessage(m) {
      // A failed send (the channel closing as the server goes) is not this worker's error.
      if (process.connected) process.send?.(m, undefined, {}, () => undefined);
    },
    on(_event, l) {
      listener = l;
      for (const m of queued.splice(0)) l(m);
    },
  };
  return { options, relayPorts: {}, port };
}
