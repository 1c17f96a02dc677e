import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BotParticipant } from '../../src/bot/participant.js';
import type { LiveRooms } from '../../src/rooms/service.js';
import { api } from '../support/api.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { hears, openLiveBrowser, participantIdOf } from '../live/page.js';
import { axeViolations } from './axe.js';

const liveEnv = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', RECONNECT_GRACE_SECONDS: '30', LIVE_CAPTIONS: 'false' };
/** Set to write docs/screenshots/talk-questions-host.png and talk-questions-asker.png from this run. */
const screenshots = process.env.UPDATE_SCREENSHOTS === '1';

/** During a talk, in real Chromium at phone width with a bot in the room too: the hand line, the question queue, reactions. */
describe('the talk page during a talk: raised hands in order, the question queue, reactions', () => {
  let t: TestApp;
  let p: TestPartner;
  let browser: Browser;
  let close: (() => Promise<void>) | undefined;
  before(async () => {
    ({ t, p, browser, close } = await openLiveBrowser(liveEnv));
  });
  after(() => close?.());

  const phone = { viewport: { width: 360, height: 800 } };
  const open = async (url: string, name: string | null) => {
    const page = await (await browser.newContext(phone)).newPage();
    // Five other suites may share the machine's two cores: a click can wait its turn.
    page.setDefaultTimeout(60_000);
    await page.goto(url);
    if (name) await page.getByLabel('Display name').fill(name);
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('button', { name: 'Leave' }).waitFor();
    return page;
  };
  const noSidewaysScroll = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= 360);

  test('hosts see who raised first and bring them up; questions are asked, taken (asker on stage, heard) and answered; listeners cannot take them; reactions reach everyone', async () => {
    const talk = (
      await api(t, 'POST', '/api/p/talk', {
        token: p.token,
        json: { name: 'Ask the gardeners', room_type: 'questions', mic_behavior: 'start_on', recording: false },
      })
    ).body.talk;
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host' } })).body
      .join_token;
    const host = await open(jt.join_url, null);
    const ada = await open(talk.short_url, 'Ada Asker');
    const bo = await open(talk.short_url, 'Bo Second');
    const bot = new BotParticipant({ pageUrl: talk.short_url, name: 'Bert Bot', decode: false });
    try {
      await bot.join();
      const adaId = (await participantIdOf(ada)) as string;

      // Hands: first raised, first in line, for everyone; only hosts get the buttons.
      await ada.getByRole('button', { name: 'Raise hand' }).click();
      await host.getByRole('region', { name: 'Raised hands' }).getByText('Ada Asker').waitFor();
      await bo.getByRole('button', { name: 'Raise hand' }).click();
      await host.getByRole('region', { name: 'Raised hands' }).getByText('Bo Second').waitFor();
      bot.send({ type: 'hand', raised: true });
      const line = host.getByRole('region', { name: 'Raised hands' }).getByRole('listitem');
      await waitFor(async () => (await line.count()) === 3, 'three hands on the host page');
      assert.deepEqual(
        (await line.locator('.name').allTextContents()).map((s) => s.trim()),
        ['Ada Asker', 'Bo Second', 'Bert Bot'],
        'in the order raised',
      );
      await bo.getByTestId('my-place').filter({ hasText: 'you are 2nd in line' }).waitFor();
      assert.equal(await bo.getByRole('button', { name: /^Bring up/ }).count(), 0, 'a listener gets no bring-up buttons');
      await host.getByRole('button', { name: 'Bring up Ada Asker' }).click();
      await bo.getByTestId('my-place').filter({ hasText: 'you are 1st in line, next to be brought up' }).waitFor();
      await ada.getByRole('button', { name: 'Mute mic' }).waitFor();
      await host.getByRole('button', { name: 'Bring down' }).click();
      await ada.getByRole('button', { name: 'Raise hand' }).waitFor();
      for (const page of [bo]) await page.getByRole('button', { name: 'Lower hand' }).click();
      bot.send({ type: 'hand', raised: false });
      await host.getByRole('region', { name: 'Raised hands' }).waitFor({ state: 'detached' });

      // Questions: Ada asks on her page, the bot over its socket; everyone sees both, in order.
      await ada.getByLabel('Your question').fill('When do I plant  tulips?');
      await ada.getByRole('button', { name: 'Ask', exact: true }).click();
      const botQuestion = await bot.ask('Can tomatoes grow indoors?');
      const waiting = (page: Page) => page.getByRole('list', { name: 'Waiting questions' }).getByRole('listitem');
      for (const page of [host, ada, bo]) await waitFor(async () => (await waiting(page).count()) === 2, 'two questions waiting on every page');
      assert.deepEqual(
        (await waiting(bo).locator('.text').allTextContents()).map((s) => s.trim()),
        ['When do I plant tulips?', 'Can tomatoes grow indoors?'],
      );
      assert.equal(await bo.getByRole('button', { name: /^Take question/ }).count(), 0, 'listeners cannot take questions');
      assert.equal(await ada.getByRole('button', { name: 'Withdraw your question' }).count(), 1, 'the asker can withdraw her own');

      // A tampered listener page sends a host's message: refused, nothing moves.
      const adaQuestion = (t.services.live as LiveRooms).roomOf(talk.id)?.questions.view()[0].id as string;
      await bo.evaluate((id) => (window as any).smalltalk.client.send({ type: 'pick_question', question: id }), adaQuestion);
      await bo.getByRole('alert').filter({ hasText: 'only hosts can pick questions' }).waitFor();
      await bo.evaluate((id) => (window as any).smalltalk.client.send({ type: 'moderate', action: 'bring_up', target: id }), adaId);
      await bo.getByRole('alert').filter({ hasText: 'only hosts can do that' }).waitFor();
      const room = (t.services.live as LiveRooms).roomOf(talk.id);
      assert.deepEqual(
        room?.questions.view().map((q) => q.status),
        ['open', 'open'],
      );
      assert.equal(room?.participants.get(adaId)?.canSpeak, false, 'Ada was not brought up by a listener');

      // The host takes Ada's question: she is on stage with a live mic, and heard.
      await host.getByRole('button', { name: 'Take question from Ada Asker' }).click();
      await ada.getByRole('button', { name: 'Mute mic' }).waitFor();
      for (const page of [host, ada, bo]) await page.getByRole('region', { name: 'Questions' }).getByText('Now answering').waitFor();
      await hears(host, 'the host to hear the asker on stage');
      // Reactions meanwhile: from a page and from the bot, seen by everyone.
      await bo.getByRole('button', { name: 'React: Applause' }).click();
      bot.react('🎉');
      await host.getByTestId('reaction-stream').locator('[data-emoji="👏"]', { hasText: 'Bo Second' }).first().waitFor();
      await ada.getByTestId('reaction-stream').locator('[data-emoji="🎉"]', { hasText: 'Bert Bot' }).first().waitFor();
      await waitFor(() => bot.reactions.some((r) => r.emoji === '👏'), 'the bot to get the applause');

      // With every panel open (hands raised again, a question on stage, one waiting, reactions
      // floating): axe finds nothing, and nothing scrolls sideways at 360 px.
      await bo.getByRole('button', { name: 'Raise hand' }).click();
      bot.send({ type: 'hand', raised: true });
      await waitFor(async () => (await line.count()) === 2, 'two hands up again');
      await bo.getByTestId('my-place').waitFor();
      for (const page of [host, bo]) {
        assert.deepEqual(await axeViolations(page), [], 'axe on the talk page with hands, questions and reactions');
        assert.ok(await noSidewaysScroll(page), 'no sideways scrolling at 360 px');
      }
      if (screenshots) {
        // The phone's screen scrolled to the questions (a full-page capture draws the sticky toolbar mid-page).
        for (const [page, file] of [
          [host, 'talk-questions-host.png'],
          [ada, 'talk-questions-asker.png'],
        ] as const) {
          await page.getByRole('region', { name: 'Questions' }).scrollIntoViewIfNeeded();
          await page.screenshot({ path: `docs/screenshots/${file}` });
        }
      }

      // Answered: Ada back to listening; the bot's question is taken next, then answered too.
      await host.getByRole('button', { name: 'Mark answered' }).click();
      await ada.getByRole('button', { name: 'Raise hand' }).waitFor();
      await host.getByRole('button', { name: 'Take question from Bert Bot' }).click();
      await waitFor(() => bot.report.canSpeak, 'the bot on stage for its question');
      await host.getByRole('button', { name: 'Mark answered' }).click();
      await waitFor(() => !bot.report.canSpeak, 'the bot back to listening');
      await bo.getByText('Answered (2)').click();
      assert.deepEqual(await bo.locator('details.answered li').evaluateAll((els) => els.map((e) => e.getAttribute('data-status'))), ['answered', 'answered']);
      assert.equal(bot.state?.questions.find((q) => q.id === botQuestion)?.status, 'answered');
      await bo.getByText('No questions waiting: ask one.').waitFor();
      assert.deepEqual(await axeViolations(bo), [], 'axe with the answered list open');
      assert.ok(await noSidewaysScroll(bo));
    } finally {
      await bot.leave();
      for (const page of [host, ada, bo]) await page.context().close();
    }
  });
});
