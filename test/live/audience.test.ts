import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import type { QuestionView, RoomView } from '../../src/rooms/protocol.js';
import { REACTION_BURST, REACTION_REFILL_MS } from '../../src/rooms/reactions.js';
import type { LiveRooms } from '../../src/rooms/service.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { member } from './member.js';

describe('reactions and the question queue over the real room socket', () => {
  let t: TestApp;
  let p: TestPartner;
  const sockets: WebSocket[] = [];
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', RECONNECT_GRACE_SECONDS: '30' } });
    p = await createPartner(t, 'Audience');
  });
  after(async () => {
    for (const s of sockets) s.terminate();
    await t.close();
  });
  const live = () => t.services.live as LiveRooms;
  const createTalk = async (json: Record<string, unknown>) =>
    (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { recording: false, ...json } })).body.talk;
  const hostToken = async (talkId: string) => {
    const url = (await api(t, 'POST', `/api/v1/partners/talks/${talkId}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host' } })).body
      .join_token.join_url as string;
    return new URLSearchParams(new URL(url).hash.slice(1)).get('token') as string;
  };
  const join = async (shortUrl: string, m: Record<string, unknown>) => {
    const x = await member(shortUrl, m);
    sockets.push(x.socket);
    return x;
  };
  const question = (r: RoomView, text: string) => r.questions.find((q) => q.text === text);
  const person = (r: RoomView, id: string) => r.participants.find((x) => x.id === id);

  test('anyone asks, everyone sees the queue; only a host picks (the asker comes on stage) and finishes (back to listening)', async () => {
    const talk = await createTalk({ name: 'Ask us', room_type: 'questions', mic_behavior: 'start_on' });
    const host = await join(talk.short_url, { token: await hostToken(talk.id) });
    const ada = await join(talk.short_url, { name: 'Ada Asker' });
    const bo = await join(talk.short_url, { name: 'Bo Second' });

    ada.send({ type: 'ask', text: '  What   about\nlatency?  ' });
    await ada.sees((r) => question(r, 'What about latency?'), 'her own question');
    bo.send({ type: 'ask', text: 'Is it open source?' });
    for (const m of [host, ada, bo]) await m.sees((r) => r.questions.length === 2, 'both questions, for everyone');
    const [first, second] = (host.room() as RoomView).questions as QuestionView[];
    assert.deepEqual(
      [first.name, first.status, first.participant_id, second.name],
      ['Ada Asker', 'open', ada.participantId, 'Bo Second'],
      'in the order asked, with who asked',
    );
    assert.equal((await ada.refused({ type: 'ask', text: 'x'.repeat(281) })).code, 'bad_request');
    assert.equal((await ada.refused({ type: 'ask', text: ' \n ' })).code, 'bad_request');

    // A listener can neither pick, finish nor remove someone else's question, nor bring anyone up.
    assert.equal((await bo.refused({ type: 'pick_question', question: first.id })).code, 'not_allowed');
    assert.equal((await bo.refused({ type: 'pick_question', question: second.id })).code, 'not_allowed');
    assert.equal((await bo.refused({ type: 'finish_question', question: first.id })).code, 'not_allowed');
    assert.equal((await bo.refused({ type: 'remove_question', question: first.id })).code, 'not_allowed');
    assert.equal((await bo.refused({ type: 'moderate', action: 'bring_up', target: bo.participantId })).code, 'not_allowed');
    const server = live().roomOf(talk.id);
    assert.ok(server);
    assert.deepEqual(
      server.questions.view().map((q) => q.status),
      ['open', 'open'],
      'nothing changed',
    );
    assert.equal(server.participants.get(bo.participantId)?.canSpeak, false);

    // The host picks Ada's: she may speak, her question is on stage.
    host.send({ type: 'pick_question', question: first.id });
    await ada.sees((r) => person(r, ada.participantId)?.can_speak && question(r, 'What about latency?')?.status === 'on_stage', 'Ada on stage');
    // Then Bo's: Ada goes back to listening, hers is answered.
    host.send({ type: 'pick_question', question: second.id });
    await bo.sees(
      (r) => person(r, bo.participantId)?.can_speak && !person(r, ada.participantId)?.can_speak && question(r, 'What about latency?')?.status === 'answered',
      'Bo up, Ada down and answered',
    );
    assert.equal((await host.refused({ type: 'pick_question', question: first.id })).code, 'bad_request', 'an answered question is not picked again');
    host.send({ type: 'finish_question', question: second.id });
    await bo.sees((r) => !person(r, bo.participantId)?.can_speak && question(r, 'Is it open source?')?.status === 'answered', 'Bo back to listening');

    // Withdrawn by its asker (only while open), or taken off by a host.
    bo.send({ type: 'ask', text: 'Withdrawn one' });
    await host.sees((r) => question(r, 'Withdrawn one'), 'the third question');
    const third = question(host.room() as RoomView, 'Withdrawn one') as QuestionView;
    assert.equal((await ada.refused({ type: 'remove_question', question: third.id })).code, 'not_allowed', 'not by someone else');
    bo.send({ type: 'remove_question', question: third.id });
    await host.sees((r) => !question(r, 'Withdrawn one'), 'the withdrawn question gone');

    // Three waiting at once per person, no more.
    for (const n of [1, 2, 3]) ada.send({ type: 'ask', text: `Follow-up ${n}` });
    assert.equal((await ada.refused({ type: 'ask', text: 'Follow-up 4' })).code, 'rate_limited');

    // Stored: a node restart (the room closes and opens again) keeps the queue and what was answered.
    await waitFor(async () => {
      const rows = await t.services.db.db
        .selectFrom('talk_questions')
        .select(['text', 'status'])
        .where('talk_id', '=', talk.id)
        .orderBy('created_at')
        .execute();
      return rows.length === 6 && rows[0].status === 'answered' && rows[2].status === 'removed' && rows;
    }, 'the queue stored');
    live().closeRoom(talk.id, 'shutdown');
    const back = await join(talk.short_url, { token: await hostToken(talk.id) });
    await back.sees((r) => r.questions.length === 5, 'the queue after the restart');
    assert.deepEqual(
      (back.room() as RoomView).questions.map((q) => [q.text, q.status]),
      [
        ['What about latency?', 'answered'],
        ['Is it open source?', 'answered'],
        ['Follow-up 1', 'open'],
        ['Follow-up 2', 'open'],
        ['Follow-up 3', 'open'],
      ],
    );
    // Its asker is gone (a restart makes everyone a new participant): picking it puts it on stage for the host to read out.
    const follow = question(back.room() as RoomView, 'Follow-up 1') as QuestionView;
    back.send({ type: 'pick_question', question: follow.id });
    await back.sees((r) => question(r, 'Follow-up 1')?.status === 'on_stage', 'picked with its asker gone');

    const plain = await createTalk({ name: 'No questions here' });
    const guest = await join(plain.short_url, { name: 'Gil' });
    assert.equal((await guest.refused({ type: 'ask', text: 'Hello?' })).code, 'not_allowed', 'questions only in questions rooms');
  });

  test('reactions reach everyone, from a fixed set, and a flood is cut to the per-participant limit', async () => {
    const talk = await createTalk({ name: 'Clap along' });
    const host = await join(talk.short_url, { token: await hostToken(talk.id) });
    const fan = await join(talk.short_url, { name: 'Flo Flood' });
    assert.equal((await fan.refused({ type: 'react', emoji: '<script>' })).code, 'bad_request');
    const fromFan = () =>
      host.inbox.messages
        .filter((m) => m.type === 'reactions')
        .flatMap((m) => m.reactions)
        .filter((r) => r.participant_id === fan.participantId);
    const started = performance.now();
    for (let i = 0; i < 40; i++) fan.send({ type: 'react', emoji: '👏' });
    fan.send({ type: 'ping' });
    await waitFor(() => fan.inbox.messages.some((m) => m.type === 'pong'), 'all 40 handled');
    const elapsed = performance.now() - started;
    const room = live().roomOf(talk.id);
    await waitFor(() => room?.reactions.waiting === 0 && fromFan().length >= REACTION_BURST, 'the reactions broadcast');
    const got = fromFan().length;
    const most = REACTION_BURST + Math.ceil(elapsed / REACTION_REFILL_MS);
    assert.ok(got >= REACTION_BURST && got <= most && got < 40, `${got} of 40 reactions went out (limit ${most} in ${Math.round(elapsed)} ms)`);
    assert.ok(
      fromFan().every((r) => r.emoji === '👏'),
      'as sent',
    );
    // The fan's own page hears them too (everyone gets the broadcast).
    assert.ok(fan.inbox.messages.some((m) => m.type === 'reactions'));
  });
});
