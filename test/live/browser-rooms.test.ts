import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { LiveRooms } from '../../src/rooms/service.js';
import { type Received, Receiver } from '../webhooks/receiver.js';
import { api } from '../support/api.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { hears, micEnabled, openLiveBrowser, participantIdOf, peakLevel, trackPeak } from './page.js';

const liveEnv = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '2', RECONNECT_GRACE_SECONDS: '20', LIVE_CAPTIONS: 'false' };

describe('room types, reconnects and talk_join in Chromium', () => {
  let t: TestApp;
  let p: TestPartner;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let close: (() => Promise<void>) | undefined;
  before(async () => {
    ({ t, p, browser, close } = await openLiveBrowser(liveEnv));
  });
  after(() => close?.());

  const newPage = async () => {
    const ctx = await browser.newContext();
    contexts.push(ctx);
    return ctx.newPage();
  };
  const closePages = async () => {
    for (const c of contexts.splice(0)) await c.close();
  };
  const createTalk = async (json: Record<string, unknown>) =>
    (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { recording: false, ...json } })).body.talk;
  const hostPage = async (talkId: string) => {
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talkId}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host', uid: 'h1' } }))
      .body.join_token;
    const page = await newPage();
    await page.goto(jt.join_url);
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('button', { name: 'End talk' }).waitFor();
    return page;
  };
  const guestPage = async (url: string, name: string) => {
    const page = await newPage();
    await page.goto(url);
    await page.getByLabel('Display name').fill(name);
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('button', { name: 'Leave' }).waitFor();
    return page;
  };
  const live = () => t.services.live as LiveRooms;
  const serverView = (talkId: string, participantId: string) => live().roomOf(talkId)?.participants.get(participantId);
  const receivedBySfu = async () => (await live().sfu.stats()).reduce((a, s) => a + s.receivedPackets, 0);

  test('before its start time: a lobby with a countdown, no audio, and a host who starts it early', async () => {
    const talk = await createTalk({ name: 'Doors open soon', start_time: new Date(Date.now() + 3600_000).toISOString(), mic_behavior: 'start_on' });
    try {
      const host = await hostPage(talk.id);
      const guest = await guestPage(talk.short_url, 'Lola Lobby');
      const lobby = guest.getByRole('status').filter({ hasText: 'Lobby' });
      await lobby.waitFor();
      assert.match((await lobby.textContent()) ?? '', /Lobby: starts in 59m \d+s/);
      assert.equal(await guest.getByRole('button', { name: 'Start now' }).count(), 0, 'only hosts can start early');
      // Nothing is forwarded before the start: the host's speech does not reach the guest.
      await trackPeak(guest);
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok((await peakLevel(guest)) < 0.02, `silence in the lobby (peak ${await peakLevel(guest)})`);

      await host.getByRole('button', { name: 'Start now' }).click();
      await lobby.waitFor({ state: 'detached' });
      await hears(guest, 'the host once the talk started');
      assert.equal((await api(t, 'GET', `/api/v1/partners/talks/${talk.id}`, { token: p.token })).body.talk.status, 'live');
    } finally {
      await closePages();
    }
  });

  test('questions room: a listener raises a hand, the host brings them up (heard) and back down', async () => {
    const talk = await createTalk({ name: 'Ask me anything', room_type: 'questions', mic_behavior: 'start_on' });
    try {
      const host = await hostPage(talk.id);
      const guest = await guestPage(talk.short_url, 'Quinn Question');
      const guestId = (await participantIdOf(guest)) as string;
      assert.equal(await micEnabled(guest), false, 'a listener in a questions room starts without a live mic');
      assert.equal(await guest.getByRole('button', { name: 'Unmute mic' }).count(), 0);
      await guest.getByRole('button', { name: 'Raise hand' }).click();
      await guest.getByRole('button', { name: 'Lower hand' }).waitFor();
      const queue = host.getByRole('region', { name: 'Raised hands' });
      await queue.getByText('Quinn Question').waitFor();
      // Screen readers are told (aria-live), and the icons are SVG, not emoji.
      await host.getByTestId('announcer').getByText('Quinn Question raised a hand').waitFor();
      assert.equal(await host.locator('[data-participant] .mic svg').count(), 2);
      await queue.getByRole('button', { name: 'Bring up Quinn Question' }).click();
      // start_on: brought up means live at once.
      await guest.getByRole('button', { name: 'Mute mic' }).waitFor();
      assert.equal(await micEnabled(guest), true);
      await hears(host, 'the host to hear the guest brought up');
      assert.equal(await host.getByRole('region', { name: 'Raised hands' }).count(), 0, 'the queue is empty again');
      await host.getByRole('button', { name: 'Bring down' }).click();
      await guest.getByRole('button', { name: 'Raise hand' }).waitFor();
      assert.equal(await micEnabled(guest), false);
      const room = live().roomOf(talk.id);
      const back = serverView(talk.id, guestId);
      assert.ok(room && back);
      assert.equal(room.publishing(back), false, 'the server no longer forwards them');
      // The host's page learns of a leave from an update (it carries the id, not the whole room).
      await guest.getByRole('button', { name: 'Leave' }).click();
      await host.locator('[data-participant]', { hasText: 'Quinn Question' }).waitFor({ state: 'detached' });
      assert.equal(await host.locator('[data-participant]').count(), 1, 'only the host is left on the host page');
    } finally {
      await closePages();
    }
  });

  test('hosted_events: a listener whose page forces its mic on is not heard (server-enforced) until brought on stage', async () => {
    const talk = await createTalk({ name: 'Keynote', room_type: 'hosted_events', mic_behavior: 'start_on' });
    try {
      const host = await hostPage(talk.id);
      const listener = await guestPage(talk.short_url, 'Lee Listener');
      assert.equal(await micEnabled(listener), false);
      // A tampered client: the page takes its microphone away from the client code (so nothing turns
      // it off again), enables it and attaches it to the peer connection: it sends speech anyway.
      const sending = await listener.evaluate(async () => {
        // any: reaching into the page's client on purpose
        const client = (window as any).smalltalk.client;
        const mic = client.mic as MediaStreamTrack;
        const sender = client.micSender as RTCRtpSender;
        client.mic = null;
        client.micSender = null;
        mic.enabled = true;
        await sender.replaceTrack(mic);
        return sender.track === mic && mic.enabled && mic.readyState === 'live';
      });
      assert.equal(sending, true, 'the tampered page sends its live microphone');
      await trackPeak(host);
      // Wait for an event, not a delay: the SFU has received ~4 s of packets (host + listener).
      const start = await receivedBySfu();
      await waitFor(async () => (await receivedBySfu()) - start >= 400, 'the SFU to receive 400 more packets', 20_000);
      const peak = await peakLevel(host);
      assert.ok(peak < 0.005, `the host heard nothing from the listener (peak level ${peak})`);
      // The same page, once allowed, is heard: the silence above was the server's doing.
      await host.getByRole('button', { name: 'Bring up' }).click();
      await listener.getByRole('button', { name: 'Mute mic' }).waitFor();
      await hears(host, 'the host to hear the listener once on stage');
    } finally {
      await closePages();
    }
  });

  test('a reload and a dropped socket resume the same participant; talk_join arrives once per join with the documented fields', async () => {
    const receiver = await new Receiver().start();
    try {
      const hook = await api(t, 'POST', '/api/v1/partners/webhooks', { token: p.token, json: { url: `${receiver.url}/hook`, events: ['talk_join'] } });
      assert.equal(hook.status, 200, JSON.stringify(hook.body));
      const talk = await createTalk({ name: 'Come back' });
      const jt = (
        await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, {
          token: p.token,
          json: { uid: 'partner-user-7', name: 'Rita Remote', username: 'rita', photo_url: 'https://example.com/rita.png', role: 'speaker' },
        })
      ).body.join_token;
      const page = await newPage();
      await page.goto(jt.join_url);
      await page.getByRole('button', { name: 'Join' }).click();
      await page.getByRole('button', { name: 'Leave' }).waitFor();
      const first = await participantIdOf(page);
      assert.ok(first);
      const joins = (r: Received[]) => r.filter((x) => x.json.event_name === 'talk_join');
      await receiver.until((r) => joins(r).length >= 1, 'the first talk_join');
      assert.deepEqual(joins(receiver.received)[0].json.body, {
        user_id: null,
        username: 'rita',
        photo_url: 'https://example.com/rita.png',
        name: 'Rita Remote',
        uid: 'partner-user-7',
        talk_id: talk.id,
      });

      // Reload: the page comes back by itself as the same participant.
      await page.reload();
      await page.getByRole('button', { name: 'Leave' }).waitFor();
      assert.equal(await participantIdOf(page), first, 'a reload resumes the same participant');
      // A dropped socket (the server side cuts it): the page reconnects as the same participant.
      const before = serverView(talk.id, first)?.socket;
      assert.ok(before);
      before.terminate();
      // The page says so while it is gone (it comes back a second later), and stops saying it once back.
      const reconnecting = page.getByRole('alert').filter({ hasText: 'reconnecting' });
      await reconnecting.waitFor({ timeout: 5000 });
      await waitFor(() => {
        const s = serverView(talk.id, first)?.socket;
        return s && s !== before && s.readyState === 1;
      }, 'the page to reconnect');
      await reconnecting.waitFor({ state: 'detached', timeout: 10_000 });
      assert.equal(await participantIdOf(page), first);

      // A second person joining is a second talk_join; the resumes were none.
      await guestPage(talk.short_url, 'Sam Second');
      await receiver.until((r) => joins(r).length >= 2, 'the second talk_join');
      const names = joins(receiver.received).map((r) => r.json.body.name);
      assert.deepEqual(names, ['Rita Remote', 'Sam Second'], 'one talk_join per join, none for the reload or the reconnect');
      const rows = await t.services.db.db.selectFrom('talk_participants').select('id').where('talk_id', '=', talk.id).execute();
      assert.equal(rows.length, 2);
      assert.equal(t.services.live?.participants(talk.id).length, 2);
    } finally {
      await closePages();
      await receiver.close();
    }
  });
});
