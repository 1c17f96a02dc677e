import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { freePort } from '../support/app.js';
import { smalltalk as runCli, startSmalltalk } from '../support/cli.js';
import { waitFor } from '../support/wait.js';
import { speech } from '../recording/media.js';

/** `smalltalk …` as an operator runs it (logging at its default level, on the embedded database); resolves failing or not. */
const smalltalk = (args: string[], env: Record<string, string>) => runCli(args, { env: { LOG_LEVEL: 'info', DATABASE_URL: '', ...env } });

describe('what the smalltalk command prints when it refuses', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-output-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('a rejected SECRET_KEY (or database URL) is never echoed: the error says what is wrong, not the value', async () => {
    const secret = 'hunter2-almost-a-secret-key';
    const res = await smalltalk(['migrate'], { DATA_DIR: dataDir, SECRET_KEY: secret });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /SECRET_KEY \(value not shown, 27 characters\): .*32/);
    assert.equal(`${res.stdout}${res.stderr}`.includes(secret), false, res.stderr);
    assert.equal(`${res.stdout}${res.stderr}`.includes('hunter2'), false);
    const url = await smalltalk(['migrate'], { DATA_DIR: dataDir, SECRET_KEY: secret, DATABASE_URL: 'postgres://u:pa55word@db/x' });
    assert.equal(`${url.stdout}${url.stderr}`.includes('pa55word'), false, url.stderr);
    assert.equal(`${url.stdout}${url.stderr}`.includes('hunter2'), false, url.stderr);
  });

  for (const [args, usage] of [
    [['token', 'revoke', '--id', 'X'], /^usage: smalltalk token revoke --partner ID --token TOKEN_ID$/],
    [['token', 'list', '--partner', 'p', 'extra'], /^usage: smalltalk token list --partner ID/],
    [['token', 'list', '--partner'], /^usage: smalltalk token list --partner ID/],
    [['token', 'revoke', '--partner', 'p'], /^usage: smalltalk token revoke/],
    [['partner', 'create', '--name', 'N', '--email', 'e@example.test', 'extra'], /^usage: smalltalk partner create --name NAME --email EMAIL/],
    [['partner', 'create', '--nmae', 'N'], /^usage: smalltalk partner create/],
    [['webhook', 'list', '--partner', 'p', '--bogus'], /^usage: smalltalk webhook list --partner ID/],
    [['bot', 'join', 'https://x.example/t/a', '--sekonds', '3'], /^usage: smalltalk bot join/],
  ] as const) {
    test(`smalltalk ${args.join(' ')}: one line on what is wrong, one usage line, exit 2, no stack`, async () => {
      const res = await smalltalk([...args], { DATA_DIR: dataDir });
      assert.equal(res.code, 2, res.stderr);
      const lines = res.stderr.trim().split('\n');
      assert.ok(lines.length <= 2, `at most two lines:\n${res.stderr}`);
      assert.match(lines[lines.length - 1], usage);
      assert.doesNotMatch(res.stderr, /\n\s+at |TypeError|ERR_PARSE_ARGS/);
      assert.equal(res.stdout, '');
    });
  }
});

/** The commands of the processes in one process group (ps: every process, filtered by group id). */
async function groupCommands(pgid: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'pgid=,comm=']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([group]) => Number(group) === pgid)
    .map(([, comm]) => comm);
}

describe('an orderly stop is not an error', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-stop-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('SIGTERM to the process group (as systemd stops it) mid-talk, captions and recording running: no log line at error level or above', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: url,
      RTC_LISTEN_IP: '127.0.0.1',
      SFU_WORKERS: '1',
      SECRET_KEY: randomBytes(24).toString('hex'),
    };
    const created = await smalltalk(['partner', 'create', '--name', 'Stops', '--email', 'stop@example.test', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const token = JSON.parse(created.stdout).api_token as string;
    // Its own process group, like a systemd unit's processes: the server, its ffmpeg and caption decoders.
    const server = startSmalltalk(['serve'], { env: { LOG_LEVEL: 'info', DATABASE_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    server.stdout?.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    server.stderr?.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    const exited = once(server, 'exit');
    const pgid = server.pid as number;
    let bot: BotParticipant | null = null;
    try {
      await waitFor(
        () =>
          fetch(`${url}/readyz`).then(
            (r) => r.ok,
            () => false,
          ),
        'the server to be ready',
        120_000,
      );
      const call = async (route: string, json: unknown) =>
        (
          await fetch(`${url}${route}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify(json),
          })
        ).json() as Promise<Record<string, any>>;
      const talk = (await call('/api/p/talk', { name: 'Stopped mid-sentence' })).talk;
      const joinUrl = (await call(`/api/v1/partners/talks/${talk.id}/join_tokens`, { name: 'Hana Host', role: 'host', uid: 'h1' })).join_token.join_url;
      bot = new BotParticipant({ pageUrl: joinUrl, audio: await decodeAudio(await speech('We are talking about the garden today.')), decode: false });
      await bot.join();
      bot.send({ type: 'mute', muted: false });
      // Recording (ffmpeg) and live captions (ffmpeg into the decoder, stream-decoder.py) both running in
      // the group: the model process and the speaker's decoder it forked.
      await waitFor(
        async () => {
          const commands = await groupCommands(pgid);
          return commands.includes('ffmpeg') && commands.filter((c) => c.startsWith('python3')).length >= 2;
        },
        'the recorder and the caption decoder to run',
        60_000,
      );
      process.kill(-pgid, 'SIGTERM');
      const [code, signal] = await exited;
      assert.equal(code, 0, `the server exits 0 (signal ${signal})\n${output}`);
    } finally {
      if (server.exitCode === null && server.signalCode === null) process.kill(-pgid, 'SIGKILL');
      await bot?.leave().catch(() => undefined);
    }
    const lines = output.split('\n').filter((l) => l.trim() !== '');
    const parsed = lines.map((l) => {
      try {
        return JSON.parse(l) as { level: number; msg: string };
      } catch {
        return { level: 60, msg: `not a JSON log line: ${l}` };
      }
    });
    assert.ok(
      parsed.some((l) => l.level === 30),
      'the server logged at info level (the output was read)',
    );
    const errors = parsed.filter((l) => l.level >= 50);
    assert.deepEqual(errors, [], 'no line at error level or above');
  });
});
