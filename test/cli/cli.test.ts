import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { startApp } from '../support/app.js';
import { smalltalk, smalltalkOk } from '../support/cli.js';

/**
 * The `smalltalk` command on the embedded database, as an operator runs it: logging at its default
 * level, so a log line on stdout would break the `--json` output the tests parse.
 */
const env = (dataDir: string) => ({ DATA_DIR: dataDir, LOG_LEVEL: 'info', DATABASE_URL: '' });
const ok = (args: string[], dataDir: string) => smalltalkOk(args, { env: env(dataDir) });
const run = (args: string[], dataDir: string) => smalltalk(args, { env: env(dataDir) });

describe('smalltalk CLI (embedded PGlite)', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-cli-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('partner create --json, token create/list/revoke; the printed token works against the API', async () => {
    const created = await ok(
      ['partner', 'create', '--name', 'CLI Partner', '--email', 'cli@example.test', '--password', 'long enough password', '--json'],
      dataDir,
    );
    const out = JSON.parse(created.stdout);
    assert.deepEqual(Object.keys(out).sort(), ['api_token', 'partner_id', 'user_id']);
    assert.match(out.api_token, /^st_/);

    const second = JSON.parse((await ok(['token', 'create', '--partner', out.partner_id, '--name', 'rotation', '--json'], dataDir)).stdout);
    const listed = JSON.parse((await ok(['token', 'list', '--partner', out.partner_id, '--json'], dataDir)).stdout);
    assert.deepEqual(listed.map((t: { name: string }) => t.name).sort(), ['default', 'rotation']);
    assert.equal(JSON.stringify(listed).includes(out.api_token), false);
    await ok(['token', 'revoke', '--partner', out.partner_id, '--token', second.id], dataDir);

    // The server on the same data directory accepts the first token and refuses the revoked one.
    const t = await startApp({ onDisk: true, dataDir });
    try {
      const ok = await fetch(`${t.url}/api/v1/partners/talks`, { headers: { authorization: `Bearer ${out.api_token}` } });
      assert.equal(ok.status, 200);
      const revoked = await fetch(`${t.url}/api/v1/partners/talks`, { headers: { authorization: `Bearer ${second.api_token}` } });
      assert.equal(revoked.status, 401);
      // While the server holds the embedded database, the CLI says so instead of corrupting it.
      const busy = await run(['token', 'list', '--partner', out.partner_id], dataDir);
      assert.equal(busy.code, 1, 'the CLI should refuse while the server runs');
      assert.match(busy.stderr, /in use by process \d+.*stop the server first/s);
    } finally {
      await t.close();
    }
  });

  test('a bad configuration fails fast with a readable message', async () => {
    const err = await smalltalk(['migrate'], { env: { DATA_DIR: dataDir, PORT: 'eighty', LOG_LEVEL: 'loud' } });
    assert.equal(err.code, 1, 'should fail');
    assert.match(err.stderr, /Invalid configuration/);
    assert.match(err.stderr, /PORT="eighty"/);
    assert.match(err.stderr, /LOG_LEVEL="loud"/);
  });

  test('unknown commands print the usage and exit 2', async () => {
    const err = await run(['frobnicate'], dataDir);
    assert.equal(err.code, 2, 'should fail');
    assert.match(err.stderr, /smalltalk partner create/);
  });
});
