import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { QUESTION_MAX_CHARS, type QuestionMessage, type QuestionView } from './protocol.js';
import type { RoomsRepository } from './repository.js';
import type { Participant, Room } from './room.js';

/** Open questions one person may have waiting at once. */
export const OPEN_QUESTIONS_PER_PERSON = 3;
/** Questions a room holds (open, on stage and answered); past this, asking is refused. */
export const QUESTIONS_PER_ROOM = 500;

/** A question's text as stored: control characters become spaces, runs of space one, 1 to 280 characters. */
export function cleanQuestion(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value
    // A lone surrogate (valid in JSON, not in UTF-8) becomes U+FFFD.
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...text].length;
  return chars >= 1 && chars <= QUESTION_MAX_CHARS ? text : null;
}

/** What the desk needs from the rooms: moving someone on or off stage, by the room's own rules. */
export interface Stage {
  bringUp(room: Room, target: Participant): void;
  bringDown(room: Room, target: Participant): void;
}

/** A refusal, in the room's words (the service turns it into its RoomError). */
export class QuestionRefused extends Error {
  constructor(
    readonly code: 'not_allowed' | 'not_found' | 'bad_request' | 'rate_limited',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The question queue's rules: anyone asks in a `questions` room; only hosts pick a question (its
 * asker comes on stage to ask it, whoever was answering before goes back to listening) and mark it
 * answered (the asker goes back to listening); the asker may withdraw an open question, a host may
 * remove any. The queue lives in the room, every change stored behind it (`talk_questions`).
 */
export class QuestionDesk {
  constructor(
    private readonly repo: RoomsRepository,
    private readonly log: Logger,
    private readonly stage: Stage,
  ) {}

  /** Once per room: its stored queue (the room was open on a node that restarted or moved). */
  load(room: Room): Promise<void> {
    room.questions.loaded ??= this.repo
      .questions(room.talk.partner_id, room.talk.id)
      .then((rows) => {
        for (const r of rows) {
          if (room.questions.get(r.id)) continue;
          room.questions.put({
            id: r.id,
            participant_id: r.participant_id,
            name: r.name,
            text: r.text,
            status: r.status === 'removed' ? 'answered' : r.status,
            asked_at: r.created_at.toISOString(),
          });
        }
      })
      .catch((err) => this.log.warn({ err, talkId: room.talk.id }, 'could not load the question queue'));
    return room.questions.loaded;
  }

  act(room: Room, p: Participant, msg: QuestionMessage) {
    const queue = room.questions;
    if (msg.type === 'ask') {
      if (room.talk.room_type !== 'questions') throw new QuestionRefused('not_allowed', 'questions are asked in question rooms only');
      const text = cleanQuestion(msg.text);
      if (!text) throw new QuestionRefused('bad_request', `a question is 1 to ${QUESTION_MAX_CHARS} characters`);
      const mine = queue.view().filter((q) => q.participant_id === p.id && q.status === 'open').length;
      if (mine >= OPEN_QUESTIONS_PER_PERSON) throw new QuestionRefused('rate_limited', `you have ${OPEN_QUESTIONS_PER_PERSON} questions waiting already`);
      if (queue.size >= QUESTIONS_PER_ROOM) throw new QuestionRefused('rate_limited', 'this room has all the questions it can take');
      const q: QuestionView = { id: randomUUID(), participant_id: p.id, name: p.name, text, status: 'open', asked_at: new Date().toISOString() };
      queue.put(q);
      this.save(room, () =>
        this.repo.insertQuestion(room.talk.partner_id, room.talk.id, { id: q.id, participant_id: p.id, name: p.name, text, created_at: new Date(q.asked_at) }),
      );
      return;
    }
    const q = queue.get(msg.question);
    if (!q) throw new QuestionRefused('not_found', 'no such question');
    if (msg.type === 'remove_question') {
      const own = q.participant_id === p.id && q.status === 'open';
      if (p.role !== 'host' && !own) throw new QuestionRefused('not_allowed', 'only hosts can remove a question that is not your own open one');
      if (q.status === 'on_stage') this.finish(room, q, 'removed');
      else this.setStatus(room, q, 'removed');
      return;
    }
    if (p.role !== 'host') throw new QuestionRefused('not_allowed', 'only hosts can pick questions');
    if (msg.type === 'finish_question') {
      if (q.status === 'answered') return;
      this.finish(room, q, 'answered');
      return;
    }
    // pick_question
    if (q.status !== 'open') throw new QuestionRefused('bad_request', 'that question is not waiting');
    const current = queue.onStage();
    if (current) this.finish(room, current, 'answered');
    this.setStatus(room, q, 'on_stage');
    // The asker left (or came back as someone new after a restart): the host reads it out instead.
    const asker = q.participant_id ? room.participants.get(q.participant_id) : undefined;
    if (asker && !asker.closed && asker.role !== 'host') this.stage.bringUp(room, asker);
  }

  /**
   * Someone was brought down or left: a question they were on stage for is answered. (Bringing up
   * someone else in a questions room brings the previous one down, so this follows too.)
   */
  leftStage(room: Room, p: Participant) {
    const q = room.questions.onStage();
    if (q && q.participant_id === p.id) this.setStatus(room, q, 'answered');
  }

  private finish(room: Room, q: QuestionView, status: 'answered' | 'removed') {
    this.setStatus(room, q, status);
    const asker = q.participant_id ? room.participants.get(q.participant_id) : undefined;
    if (asker && !asker.closed && asker.role === 'listener' && asker.onStage) this.stage.bringDown(room, asker);
  }

  private setStatus(room: Room, q: QuestionView, status: 'open' | 'on_stage' | 'answered' | 'removed') {
    if (status === 'removed') room.questions.delete(q.id);
    else room.questions.put({ ...q, status });
    this.save(room, () => this.repo.setQuestionStatus(room.talk.partner_id, room.talk.id, q.id, status));
  }

  /** Stored behind the room's memory, in order: a failed write is logged and the room goes on. */
  private save(room: Room, write: () => Promise<unknown>) {
    room.questions.saving = room.questions.saving
      .then(write)
      .then(() => undefined)
      .catch((err) => this.log.warn({ err, talkId: room.talk.id }, 'could not store a change to the question queue'));
  }
}
