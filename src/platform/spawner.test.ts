import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { exited, spawnTied } from './media.js';
import { parentOf } from '../../test/support/processes.js';
import { type MediaChild, spawnerPid, spawnerReady, startSpawner } from './spawner.js';

/** Everything a child wrote on one of its streams, once it closed. */
function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (d: string) => {
      out += d;
    });
    stream?.once('close', () => resolve(out));
  });
}

const closed = (child: MediaChild) => new Promise<[number | null, string | null]>((resolve) => child.once('close', (code, signal) => resolve([code, signal])));

before(async () => {
  assert.equal(await startSpawner(), true, 'the spawner starts');
});

test('a child started by the spawner: its stdin, stdout and stderr are ours, then exit and close', async () => {
  assert.ok(spawnerReady());
  const child = spawnTied('sh', ['-c', 'cat; echo "to stderr" >&2; exit 3'], { stdio: ['pipe', 'pipe', 'pipe'] });
  // Written at once, before the spawner has started it: held until the child holds the connection.
  child.stdin?.write('hello ');
  child.stdin?.end('world\n');
  const [out, err, done] = await Promise.all([collect(child.stdout), collect(child.stderr), closed(child)]);
  assert.equal(out, 'hello world\n');
  assert.equal(err, 'to stderr\n');
  assert.deepEqual(done, [3, null]);
  assert.equal(child.exitCode, 3);
  assert.equal(await exited(child), 3, 'exited() of a child that has exited');
});

test("the spawner is the child's parent, not the app; a kill reaches the child", async () => {
  const child = spawnTied('sleep', ['30'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exit = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  // Killed before the spawner has said its pid: the signal waits for it.
  assert.equal(child.kill('SIGTERM'), true);
  assert.deepEqual(await exit, [null, 'SIGTERM']);
  assert.equal(child.signalCode, 'SIGTERM');
  assert.equal(child.kill('SIGKILL'), false, 'nothing to kill once it has exited');

  const long = spawnTied('sleep', ['30'], { stdio: ['ignore', 'ignore', 'ignore'] });
  while (long.pid === undefined) await new Promise((r) => setTimeout(r, 10));
  assert.equal(parentOf(long.pid), spawnerPid(), 'started by the spawner');
  // The pid is said once forked; while the exec is under way /proc gives an empty command line
  // (CI read '' once), so it is read again until the command is there, for up to 5 s.
  const cmdline = () => readFileSync(`/proc/${long.pid}/cmdline`, 'utf8');
  for (const end = Date.now() + 5000; !/sleep/.test(cmdline()) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
  assert.match(cmdline(), /sleep/);
  long.kill('SIGKILL');
  assert.deepEqual(await closed(long), [null, 'SIGKILL']);
});

test("the child gets the app's environment and directory as they are when it is started", async () => {
  process.env.SPAWNER_TEST_VALUE = 'seen';
  try {
    const child = spawnTied('sh', ['-c', 'echo "$SPAWNER_TEST_VALUE $(pwd)"'], { stdio: ['ignore', 'pipe', 'ignore'] });
    assert.equal((await collect(child.stdout)).trim(), `seen ${process.cwd()}`);
  } finally {
    delete process.env.SPAWNER_TEST_VALUE;
  }
});

test('a large stdin and stdout pass through whole, with backpressure', async () => {
  const child = spawnTied('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const reading = new Promise<number>((resolve) => {
    let n = 0;
    child.stdout?.on('data', (d: Buffer) => {
      n += d.length;
    });
    child.stdout?.once('close', () => resolve(n));
  });
  for (let i = 0; i < 160; i++) if (!child.stdin?.write(chunk)) await new Promise((r) => child.stdin?.once('drain', r));
  child.stdin?.end();
  assert.equal(await reading, 160 * chunk.length, '10 MB through cat');
  assert.equal(await exited(child), 0);
});

test('a command that does not exist exits as it does when the app starts it (setpriv reports it)', async () => {
  const child = spawnTied('/nonexistent/smalltalk-no-such-command', [], { stdio: ['ignore', 'ignore', 'pipe'] });
  const err = await collect(child.stderr);
  const code = await exited(child);
  assert.notEqual(code, 0);
  assert.match(err, /smalltalk-no-such-command/);
});

test('when the spawner dies, its children die with it and say so (exit by SIGKILL); the next spawn starts it again', async () => {
  const child = spawnTied('sleep', ['30'], { stdio: ['ignore', 'ignore', 'ignore'] });
  while (child.pid === undefined) await new Promise((r) => setTimeout(r, 10));
  const pid = child.pid;
  process.kill(spawnerPid() as number, 'SIGKILL');
  assert.deepEqual(await closed(child), [null, 'SIGKILL']);
  // The child's parent-death signal: gone too, not an orphan.
  const deadline = Date.now() + 5_000;
  let alive = true;
  while (alive && Date.now() < deadline) {
    try {
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
      alive = state !== 'Z';
    } catch {
      alive = false;
    }
    if (alive) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(alive, false, 'the spawner’s child died with it');
  assert.equal(await startSpawner(), true, 'a new spawner');
  const again = spawnTied('sh', ['-c', 'echo back'], { stdio: ['ignore', 'pipe', 'ignore'] });
  assert.equal((await collect(again.stdout)).trim(), 'back');
});
