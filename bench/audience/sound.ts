import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A sound server with nothing but a null sink, for a headless browser that has no sound device:
 * headless Firefox without one never runs an AudioContext (it stays `suspended`), so a page's level
 * meter reads nothing; with this server's socket in PULSE_SERVER it runs, and the meter hears what
 * the page plays. PulseAudio from `bash scripts/setup-system.sh --bench`; throws when it is missing.
 * The server is this process's child, with its own runtime directory, and stops with `stop()`.
 */
export async function startNullSoundServer(): Promise<{ server: string; stop(): void }> {
  if (spawnSync('pulseaudio', ['--version']).status !== 0) throw new Error('pulseaudio is not installed (bash scripts/setup-system.sh --bench installs it)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-sound-'));
  const socket = path.join(dir, 'native');
  const child: ChildProcess = spawn(
    'pulseaudio',
    [
      '-n', // no default configuration: only the modules below
      '--daemonize=no',
      '--exit-idle-time=-1',
      '--load=module-null-sink sink_name=smalltalk_null',
      `--load=module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
    ],
    { env: { ...process.env, HOME: dir, XDG_RUNTIME_DIR: dir }, stdio: 'ignore' },
  );
  const stop = () => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null || Date.now() > until) {
      stop();
      throw new Error(`the sound server did not start (exit code ${child.exitCode})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { server: `unix:${socket}`, stop };
}
