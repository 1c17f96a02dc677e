import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

const root = path.resolve(import.meta.dirname, '..', '..');

/** `smalltalk …` as an operator runs it; resolves with the exit code and both outputs, failing or not. */
async function smalltalk(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli.ts'), ...args], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'info', DATABASE_URL: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

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
