import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Lookups, PassOn } from './pass-on.js';

// A stand-in for the node hosting a talk (a real HTTP server): counts what reaches it, answers a
// blocking playlist after 100 ms, parts at once (immutable), and carries the hop header back.
const seen: { url: string; hop: string | undefined; port: number | undefined }[] = [];
let server: http.Server;
let base: string;
before(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', hop: req.headers['x-hop'] as string | undefined, port: req.socket.remotePort });
    if (req.url?.startsWith('/index.m3u8')) {
      setTimeout(
        () => res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'public, max-age=3' }).end(`#EXTM3U ${req.url}`),
        100,
      );
    } else if (req.url?.startsWith('/gone')) {
      res.destroy();
    } else {
      res
        .writeHead(200, { 'content-type': 'video/iso.segment', 'cache-control': 'public, max-age=86400, immutable', 'x-other': 'dropped' })
        .end(`part ${req.url}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('the same URL asked while it is fetched shares one fetch; an immutable answer is kept, a playlist is not', async () => {
  const passer = new PassOn('x-hop');
  seen.length = 0;
  const answers = await Promise.all(Array.from({ length: 20 }, () => passer.get(`${base}/index.m3u8?_HLS_msn=5&_HLS_part=2`)));
  assert.equal(seen.length, 1, 'twenty listeners waiting for the same part: one request to the hosting node');
  assert.equal(seen[0]?.hop, '1', 'marked as passed on, so the hosting node never passes it on again');
  assert.ok(answers.every((a) => a.status === 200 && a.body.toString() === '#EXTM3U /index.m3u8?_HLS_msn=5&_HLS_part=2'));
  assert.deepEqual(answers[0]?.headers, [
    ['content-type', 'application/vnd.apple.mpegurl'],
    ['cache-control', 'public, max-age=3'],
  ]);
  await passer.get(`${base}/index.m3u8?_HLS_msn=5&_HLS_part=2`);
  assert.equal(seen.length, 2, 'a playlist is fetched again once its fetch is over');

  const part = await passer.get(`${base}/e1/5.2.m4s`);
  assert.equal(part.body.toString(), 'part /e1/5.2.m4s');
  assert.ok(!part.headers.some(([name]) => name === 'x-other'), 'only the stream headers go on');
  await passer.get(`${base}/e1/5.2.m4s`);
  assert.equal(seen.length, 3, 'an immutable part is served from memory the second time');
  assert.deepEqual(passer.counts, { fetched: 3, shared: 19, kept: 1 });
  assert.equal(new Set(seen.map((x) => x.port)).size, 1, 'one after the other, the fetches went over one kept connection');
});

test('a hosting node that does not answer fails every request that shared the fetch', async () => {
  const passer = new PassOn('x-hop');
  const results = await Promise.allSettled([passer.get(`${base}/gone`), passer.get(`${base}/gone`)]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.equal(passer.counts.fetched, 1);
  // Nothing kept from a failure: the next request tries again.
  await passer.get(`${base}/gone`).catch(() => undefined);
  assert.equal(passer.counts.fetched, 2);
});

test('lookups: one at a time per key; a stale answer is served while it is looked up again, an older one is not; merge and failures keep the answer before', async () => {
  // What the database says, in turn: a node, then no fresh claim (its heartbeat late), then an error, then another node, then a third.
  const answers: (() => Promise<string | null>)[] = [
    () => new Promise((r) => setTimeout(() => r('http://a:1'), 20)),
    async () => null,
    async () => {
      throw new Error('connection terminated');
    },
    async () => 'http://c:1',
    () => new Promise((r) => setTimeout(() => r('http://d:1'), 20)),
  ];
  let asked = 0;
  // Fresh 200 ms, served stale up to 600 ms.
  const hosts = new Lookups<string | null>(
    () => (answers[asked++] ?? (async () => null))(),
    200,
    (found, before) => found ?? before ?? null,
  );
  const first = await Promise.all(Array.from({ length: 10 }, () => hosts.get('t1')));
  assert.deepEqual([...new Set(first)], ['http://a:1'], 'a key never answered: everyone waits for its lookup');
  assert.equal(asked, 1, 'ten requests at once: one lookup');
  assert.equal(await hosts.get('t1'), 'http://a:1', 'fresh: no lookup');
  assert.equal(asked, 1);
  const stale = () => new Promise((r) => setTimeout(r, 250));
  await stale();
  assert.deepEqual(await Promise.all([hosts.get('t1'), hosts.get('t1')]), ['http://a:1', 'http://a:1'], 'stale: served while looked up again, once');
  assert.equal(asked, 2);
  // Each get below finds the answer stale: it is served that answer, and starts the next lookup.
  await stale();
  assert.equal(await hosts.get('t1'), 'http://a:1', 'the lookup found none: merge kept the last node found');
  await stale();
  assert.equal(await hosts.get('t1'), 'http://a:1', 'the lookup failed: the answer before stays');
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(await hosts.get('t1'), 'http://c:1', 'the room moved: the new node, fresh');
  assert.equal(hosts.counts.looked, 4);
  await new Promise((r) => setTimeout(r, 650));
  assert.equal(await hosts.get('t1'), 'http://d:1', 'older than 600 ms: not served, the request waits for the lookup');

  const failing = new Lookups<string>(async () => {
    throw new Error('down');
  }, 50);
  await assert.rejects(failing.get('t2'), /down/, 'a key never answered fails with its lookup');
});
