import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { addRecording } from '../replay/fixtures.js';

const HOSTILE = `"><script>alert(1)</script><meta property="og:title" content="x`;
const HOSTILE_DESCRIPTION = `</script><script>alert(2)</script>' onmouseover='alert(3)`;

/** The value of a meta tag's content attribute, decoded as a browser would. */
const meta = (html: string, attr: 'property' | 'name', key: string) => {
  const all = [...html.matchAll(new RegExp(`<meta ${attr}="${key}" content="([^"]*)">`, 'g'))].map((m) =>
    (m[1] as string)
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&'),
  );
  return all;
};

/** Hostile talk names and descriptions in link previews (Open Graph, Twitter card) and the pages' data blocks. */
describe('link previews and page data with hostile talk names', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp({ background: false });
    p = await createPartner(t, 'Hostile');
  });
  after(() => t?.close());

  test('the talk page, the replay page and the series page: every preview value is text, no script but ours', async () => {
    const start = new Date(Date.now() + 86_400_000);
    start.setUTCSeconds(0, 0);
    const live = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: HOSTILE, description: HOSTILE_DESCRIPTION } })).body.talk;
    const ended = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: HOSTILE, description: HOSTILE_DESCRIPTION } })).body.talk;
    await api(t, 'POST', `/api/v1/partners/talks/${ended.id}/end`, { token: p.token });
    await addRecording(t, p, ended.id);
    const series = (
      await api(t, 'POST', '/api/p/talk', {
        token: p.token,
        json: { name: HOSTILE, description: HOSTILE_DESCRIPTION, start_time: start.toISOString(), schedule: 'FREQ=DAILY;COUNT=2', subscriptions_allowed: true },
      })
    ).body.talk;
    const pages = {
      talk: { path: new URL(live.short_url).pathname, title: HOSTILE },
      replay: { path: new URL(ended.short_url).pathname, title: `Replay: ${HOSTILE}` },
      series: { path: `${new URL(series.short_url).pathname}/series`, title: `${HOSTILE} (series)` },
    };
    for (const [which, { path, title }] of Object.entries(pages)) {
      const res = await api(t, 'GET', path);
      assert.equal(res.status, 200, which);
      const html = res.body as string;
      assert.deepEqual(meta(html, 'property', 'og:title'), [title], `${which}: og:title`);
      assert.deepEqual(meta(html, 'name', 'twitter:title'), [title], `${which}: twitter:title`);
      assert.deepEqual(meta(html, 'name', 'twitter:description'), [HOSTILE_DESCRIPTION], `${which}: twitter:description`);
      assert.deepEqual(meta(html, 'property', 'og:description'), [HOSTILE_DESCRIPTION], `${which}: og:description`);
      // Our scripts only: the bundle (when built) and one JSON data block; nothing the name opened.
      const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      assert.ok(
        scripts.every(
          (s) =>
            s === '<script type="application/json" id="talk-data">' ||
            s === '<script type="application/json" id="replay-data">' ||
            s === '<script type="application/json" id="series-data">' ||
            /^<script type="module" src="\/assets\/[\w.-]+\.js"><\/?script>?$|^<script type="module" src="\/assets\/[\w.-]+\.js">$/.test(s),
        ),
        `${which}: ${JSON.stringify(scripts)}`,
      );
      // Outside the JSON block (where '<' is \u003c and quotes are JSON's), no markup or attribute the values opened.
      const markup = html.replace(/<script type="application\/json"[^>]*>[^<]*<\/script>/g, '');
      assert.doesNotMatch(markup, /alert\(\d\)<\/script>/, which);
      assert.ok(!markup.includes(`onmouseover='alert`), which);
      assert.equal((html.match(/<\/script>/g) ?? []).length, scripts.length, `${which}: every script closes once`);
    }
  });
});
