import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { redactRequestUrl } from '../../src/platform/logging.js';
import { type TestApp, startApp } from '../support/app.js';

const SECRET = 'Zq7secretPart0fTheUrl';

/** URLs whose secret part lets whoever holds it act (join a team, reset a password, unsubscribe, listen, download). */
const secretUrls = [
  `/dashboard/invite/${SECRET}`,
  `/api/v1/invites/${SECRET}`,
  `/api/v1/invites/${SECRET}/accept`,
  `/dashboard/reset-password?token=${SECRET}`,
  `/dashboard/signup?next=%2Fdashboard%2Finvite%2F${SECRET}`,
  `/unsubscribe/0d6f3a52-7c1e-4f0e-9a57-3c2f1b8e9d10/${SECRET}`,
  `/t/abc123/live/${SECRET}/index.m3u8?_HLS_msn=4&_HLS_part=1`,
  `/recordings/0d6f3a52-7c1e-4f0e-9a57-3c2f1b8e9d10/talk.mp4?expires=1800000000&sig=${SECRET}`,
];

describe('secrets in URLs never reach the log', () => {
  test('redactRequestUrl hides each secret part and keeps the rest of the URL', () => {
    assert.equal(redactRequestUrl(`/dashboard/invite/${SECRET}`), '/dashboard/invite/[redacted]');
    assert.equal(redactRequestUrl(`/api/v1/invites/${SECRET}/accept`), '/api/v1/invites/[redacted]/accept');
    assert.equal(redactRequestUrl(`/dashboard/reset-password?token=${SECRET}&x=1`), '/dashboard/reset-password?token=[redacted]&x=1');
    assert.equal(
      redactRequestUrl(`/dashboard/login?next=%2Fdashboard%2Finvite%2F${SECRET}&a=b`),
      '/dashboard/login?next=%2Fdashboard%2Finvite%2F[redacted]&a=b',
    );
    assert.equal(redactRequestUrl(`/unsubscribe/id-1/${SECRET}`), '/unsubscribe/id-1/[redacted]');
    assert.equal(redactRequestUrl(`/t/abc123/live/${SECRET}/e1/4.1.m4s`), '/t/abc123/live/[redacted]/e1/4.1.m4s');
    assert.equal(redactRequestUrl(`/r/file.mp4?expires=9&SIG=${SECRET}`), '/r/file.mp4?expires=9&SIG=[redacted]');
    // What is not a secret stays as it was, for the log to be of use.
    for (const plain of ['/api/v1/partners/talks?talk_id=abc&limit=5', '/t/abc123', '/dashboard/talks/xyz', '/api/v1/partners/group_talks?group_id=g']) {
      assert.equal(redactRequestUrl(plain), plain);
    }
  });

  describe('the request log of a running app', () => {
    let t: TestApp;
    before(async () => {
      t = await startApp({ logs: true, background: [] });
    });
    after(() => t.close());

    test('logs each request it got, with the secret part redacted', async () => {
      for (const url of secretUrls) await fetch(`${t.url}${url}`).then((r) => r.arrayBuffer());
      const incoming = t.lines.filter((l) => l.msg === 'incoming request').map((l) => (l.req as { url: string }).url);
      for (const url of secretUrls) {
        const shown = redactRequestUrl(url);
        assert.notEqual(shown, url);
        assert.ok(incoming.includes(shown), `the log has ${shown}: ${JSON.stringify(incoming)}`);
      }
      assert.equal(JSON.stringify(t.lines).includes(SECRET), false, 'a secret reached the log');
    });
  });
});
