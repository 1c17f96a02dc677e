/**
 * The question queue of a `questions` room. Everyone sees it (askers see their place in line, and a
 * question already asked is not asked again); a host picks the next one, which brings its asker on
 * stage, and marks it answered, which sends them back to listening.
 */
import { useState } from 'preact/hooks';
import { QUESTION_MAX_CHARS, type QuestionView } from '../../../src/rooms/protocol.js';
import type { RoomClient, RoomState } from './room';

function AskForm({ client, waiting }: { client: RoomClient; waiting: number }) {
  const [text, setText] = useState('');
  const left = QUESTION_MAX_CHARS - [...text].length;
  return (
    <form
      class="ask"
      onSubmit={(e) => {
        e.preventDefault();
        if (!text.trim()) return;
        client.send({ type: 'ask', text });
        setText('');
      }}
    >
      <label>
        Your question
        <textarea
          name="question"
          rows={2}
          maxLength={QUESTION_MAX_CHARS}
          required
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
      </label>
      <div class="row">
        <button type="submit" class="primary">
          Ask
        </button>
        <span class="hint" aria-live="off">
          {left} characters left{waiting > 0 ? ` · ${waiting} of yours waiting (3 at most)` : ''}
        </span>
      </div>
    </form>
  );
}

export function QuestionPanel({ client, state, me, isHost }: { client: RoomClient; state: RoomState; me: string; isHost: boolean }) {
  if (state.talk.room_type !== 'questions') return null;
  const questions = state.questions ?? [];
  const onStage = questions.filter((q) => q.status === 'on_stage');
  const open = questions.filter((q) => q.status === 'open');
  const answered = questions.filter((q) => q.status === 'answered');
  const mineWaiting = open.filter((q) => q.participant_id === me).length;
  const asker = (q: QuestionView) => `${q.name}${q.participant_id === me ? ' (you)' : ''}`;
  const present = (q: QuestionView) => !!q.participant_id && state.participants.some((p) => p.id === q.participant_id);
  return (
    <section aria-label="Questions" class="card questions">
      <h2>Questions ({open.length} waiting)</h2>
      {!isHost && <AskForm client={client} waiting={mineWaiting} />}
      {onStage.map((q) => (
        <div key={q.id} class="on-stage" data-question={q.id} data-status={q.status}>
          <h3>Now answering</h3>
          <p class="text">{q.text}</p>
          <p class="by">
            Asked by {asker(q)}
            {!present(q) && ' (not in the room: the host reads it out)'}
          </p>
          {isHost && (
            <button type="button" onClick={() => client.send({ type: 'finish_question', question: q.id })}>
              Mark answered
            </button>
          )}
        </div>
      ))}
      {open.length > 0 ? (
        <ol class="queue" aria-label="Waiting questions">
          {open.map((q, i) => (
            <li key={q.id} data-question={q.id} data-status={q.status}>
              <span class="place" aria-hidden="true">
                {i + 1}
              </span>
              <div class="body">
                <p class="text">{q.text}</p>
                <p class="by">{asker(q)}</p>
              </div>
              <span class="controls">
                {isHost && (
                  <button
                    type="button"
                    class={i === 0 ? 'primary' : undefined}
                    aria-label={`Take question from ${q.name}`}
                    onClick={() => client.send({ type: 'pick_question', question: q.id })}
                  >
                    Take
                  </button>
                )}
                {(isHost || q.participant_id === me) && (
                  <button
                    type="button"
                    class="danger"
                    aria-label={q.participant_id === me ? 'Withdraw your question' : `Remove question from ${q.name}`}
                    onClick={() => client.send({ type: 'remove_question', question: q.id })}
                  >
                    {q.participant_id === me ? 'Withdraw' : 'Remove'}
                  </button>
                )}
              </span>
            </li>
          ))}
        </ol>
      ) : (
        <p>No questions waiting{isHost ? '' : ': ask one'}.</p>
      )}
      {answered.length > 0 && (
        <details class="answered">
          <summary>Answered ({answered.length})</summary>
          <ul>
            {answered.map((q) => (
              <li key={q.id} data-question={q.id} data-status={q.status}>
                <span class="text">{q.text}</span> <span class="by">({asker(q)})</span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
