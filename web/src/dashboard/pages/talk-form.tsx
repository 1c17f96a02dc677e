import { useState } from 'preact/hooks';
import { call, type Partner, type Talk, type Theme } from '../api';
import { Link, navigate } from '../router';
import { orgPath } from '../session';
import { useForm } from '../form';
import { Field, FormAlert, fromLocalInput, SelectField, timeZone, toLocalInput, useLoad } from '../ui';
import { roomTypes } from './talks';

type Recurrence = '' | 'FREQ=DAILY' | 'FREQ=WEEKLY' | 'FREQ=MONTHLY' | 'custom';

export function TalkForm({ partner, talk, onDone }: { partner: Partner; talk?: Talk; onDone?: (saved: boolean) => void }) {
  const themes = useLoad(
    () => call<{ themes: Theme[] }>('GET', '/api/v1/partners/themes', undefined, { partner: partner.id, query: { limit: 200 } }),
    [partner.id],
  );
  const [f, setF] = useState({
    name: talk?.name ?? '',
    description: talk?.description ?? '',
    room_type: talk?.room_type ?? 'default',
    access: talk?.access ?? 'anyone',
    mic_behavior: talk?.mic_behavior ?? 'start_off',
    theme_id: talk?.theme_id ?? '',
    start_time: toLocalInput(talk?.start_time ?? null),
    end_time: toLocalInput(talk?.end_time ?? null),
    subscriptions_allowed: talk?.subscriptions_allowed ?? true,
    recording: talk?.recording ?? true,
    thumbnail_url: talk?.thumbnail_url ?? '',
    webrtc_listener_limit: talk?.webrtc_listener_limit == null ? '' : String(talk.webrtc_listener_limit),
  });
  const knownRule = (['', 'FREQ=DAILY', 'FREQ=WEEKLY', 'FREQ=MONTHLY'] as string[]).includes(talk?.schedule ?? '');
  const [recurrence, setRecurrence] = useState<Recurrence>(knownRule ? ((talk?.schedule ?? '') as Recurrence) : 'custom');
  const [rule, setRule] = useState(talk?.schedule ?? '');
  const form = useForm();
  const error = form.error;
  const set = (k: keyof typeof f) => (v: string | boolean) => setF({ ...f, [k]: v });
  const fields = [
    'name',
    'description',
    'room_type',
    'access',
    'mic_behavior',
    'theme_id',
    'start_time',
    'end_time',
    'schedule',
    'thumbnail_url',
    'webrtc_listener_limit',
  ];
  return (
    <>
      <h1>{talk ? `Edit ${talk.name}` : 'New talk'}</h1>
      <form
        class="card form"
        onSubmit={form.submit(async () => {
          const schedule = recurrence === 'custom' ? rule.trim() || null : recurrence || null;
          const body = {
            name: f.name,
            description: f.description || null,
            room_type: f.room_type,
            access: f.access,
            mic_behavior: f.mic_behavior,
            theme_id: f.theme_id || null,
            start_time: fromLocalInput(f.start_time),
            end_time: fromLocalInput(f.end_time),
            subscriptions_allowed: f.subscriptions_allowed,
            recording: f.recording,
            thumbnail_url: f.thumbnail_url || null,
            // Only hosted_events talks have an audience tier; an empty field keeps the server's default.
            ...(f.room_type === 'hosted_events'
              ? { webrtc_listener_limit: f.webrtc_listener_limit.trim() === '' ? null : Number(f.webrtc_listener_limit) }
              : {}),
            ...(talk && !talk.schedule && !schedule ? {} : { schedule }),
          };
          const r = talk
            ? await call<{ talk: Talk }>('PATCH', `/api/v1/partners/talks/${talk.id}`, body, { partner: partner.id })
            : await call<{ talk: Talk }>('POST', '/api/p/talk', body, { partner: partner.id });
          if (onDone) onDone(true);
          else navigate(orgPath(partner.id, `talks/${r.talk.id}`));
        })}
      >
        <Field label="Name" name="name" value={f.name} onValue={set('name')} error={error} required maxLength={200} />
        <div class="field">
          <label for="talk-description">Description</label>
          <textarea
            id="talk-description"
            name="description"
            rows={3}
            value={f.description}
            onInput={(e) => set('description')((e.target as HTMLTextAreaElement).value)}
          />
          <p class="field-error" data-field-error="description">
            {error?.field === 'description' ? error.message : null}
          </p>
        </div>
        <div class="grid">
          <SelectField label="Room type" name="room_type" value={f.room_type} onValue={set('room_type')} options={roomTypes} error={error} />
          <SelectField
            label="Access"
            name="access"
            value={f.access}
            onValue={set('access')}
            options={[
              ['anyone', 'Anyone with the link'],
              ['invite_only', 'Invite only'],
            ]}
            error={error}
          />
          <SelectField
            label="Microphones of non-hosts"
            name="mic_behavior"
            value={f.mic_behavior}
            onValue={set('mic_behavior')}
            options={[
              ['start_off', 'Start off'],
              ['start_on', 'Start on'],
            ]}
            error={error}
          />
          <SelectField
            label="Theme"
            name="theme_id"
            value={f.theme_id}
            onValue={set('theme_id')}
            options={[['', 'Default theme'], ...(themes.data?.themes ?? []).map((t) => [t.id, t.name] as [string, string])]}
            error={error}
            hint={<Link href={orgPath(partner.id, 'themes')}>Manage themes</Link>}
          />
          <Field
            label="Start"
            name="start_time"
            type="datetime-local"
            value={f.start_time}
            onValue={set('start_time')}
            error={error}
            hint={`Your time zone: ${timeZone}`}
          />
          <Field
            label="End"
            name="end_time"
            type="datetime-local"
            value={f.end_time}
            onValue={set('end_time')}
            error={error}
            hint={`Your time zone: ${timeZone}`}
          />
          <SelectField
            label="Repeats"
            name="schedule"
            value={recurrence}
            onValue={(v) => setRecurrence(v as Recurrence)}
            options={[
              ['', 'Does not repeat'],
              ['FREQ=DAILY', 'Every day'],
              ['FREQ=WEEKLY', 'Every week'],
              ['FREQ=MONTHLY', 'Every month'],
              ['custom', 'Custom rule (RRULE)'],
            ]}
            error={recurrence === 'custom' ? null : error}
            hint="A repeating talk needs a start time."
          />
          {recurrence === 'custom' && (
            <Field label="RRULE" name="schedule" value={rule} onValue={setRule} error={error} placeholder="FREQ=WEEKLY;BYDAY=TH;COUNT=10" />
          )}
          <Field label="Thumbnail URL" name="thumbnail_url" type="url" value={f.thumbnail_url} onValue={set('thumbnail_url')} error={error} />
          {f.room_type === 'hosted_events' && (
            <Field
              label="Listeners on WebRTC"
              name="webrtc_listener_limit"
              type="number"
              value={f.webrtc_listener_limit}
              onValue={set('webrtc_listener_limit')}
              error={error}
              placeholder="Server default"
              hint="How many listeners hear the talk live over WebRTC; the next ones get the audience stream (1-2 s behind). Empty: the server's default."
            />
          )}
        </div>
        <div class="checks">
          <label>
            <input type="checkbox" checked={f.subscriptions_allowed} onChange={(e) => set('subscriptions_allowed')((e.target as HTMLInputElement).checked)} />{' '}
            Let people subscribe to this talk
          </label>
          <label>
            <input type="checkbox" checked={f.recording} onChange={(e) => set('recording')((e.target as HTMLInputElement).checked)} /> Record this talk
          </label>
        </div>
        <FormAlert error={error} fields={fields} />
        <div class="row">
          <button type="submit" disabled={form.pending}>
            {talk ? 'Save talk' : 'Create talk'}
          </button>
          {onDone ? (
            <button type="button" class="secondary" onClick={() => onDone(false)}>
              Cancel
            </button>
          ) : (
            <Link class="button secondary" href={talk ? orgPath(partner.id, `talks/${talk.id}`) : orgPath(partner.id, 'talks')}>
              Cancel
            </Link>
          )}
        </div>
      </form>
    </>
  );
}
