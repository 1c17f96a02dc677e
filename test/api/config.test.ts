import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, configKeys, loadConfig } from '../../src/platform/config.js';

describe('configuration', () => {
  test('defaults: embedded PGlite, port 3000, public URL from the port', () => {
    const config = loadConfig({ DATA_DIR: '/tmp/smalltalk-config-test' });
    assert.equal(config.dbKind, 'pglite');
    assert.equal(config.PORT, 3000);
    assert.equal(config.PUBLIC_URL, 'http://localhost:3000');
    assert.deepEqual(config.WEBHOOK_RETRY_SCHEDULE, [0, 5, 300, 1800, 7200, 18000, 36000, 36000]);
    assert.ok(config.SECRET_KEY.length >= 32, 'a secret is generated in embedded mode');
    assert.equal(loadConfig({ DATA_DIR: '/tmp/smalltalk-config-test' }).SECRET_KEY, config.SECRET_KEY, 'and kept');
  });

  test('bad values fail fast, one readable line each', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' }),
      (err: Error) =>
        err instanceof ConfigError && /PORT="eighty"/.test(err.message) && /LOG_LEVEL="loud"/.test(err.message) && /DATABASE_URL/.test(err.message),
    );
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://x/y' }), /SECRET_KEY .* is required with DATABASE_URL/);
    assert.throws(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE: '1,soon' }), /WEBHOOK_RETRY_SCHEDULE/);
    assert.throws(() => loadConfig({ STORAGE: 's3' }), /S3_BUCKET/);
  });

  test('docs/configuration.md documents every setting the schema knows', () => {
    const doc = readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');
    const missing = configKeys.filter((key) => !doc.includes(`\`${key}\``));
    assert.deepEqual(missing, []);
  });
});
