import { useState } from 'preact/hooks';
import { renderSVG } from 'uqr';
import { call, type Partner, type Talk } from '../api';
import { Link, navigate } from '../router';
import { describeRule } from '../recurrence';
import { orgPath } from '../session';
import { useForm } from '../form';
import { ConfirmButton, CopyButton, FormAlert, formatTime, Loading, useLoad } from '../ui';
import { TalkForm } from './talk-form';
import { InTheRoom, Invites, JoinAsHost, Subscribers } from './talk-people';

export function TalkDetail({ partner, id }: { partner: Partner; id: string }) {
  const talk = useLoad(() => call<{ talk: Talk }>('GET', `/api/v1/partners/talks/${id}`, undefined, { partner: partner.id }), [partner.id, id]);
  const [editing, setEditing] = useState(false);
  const actions = useForm();
  if (!talk.data) return <Loading error={talk.error} />;
  const t = talk.data.talk;
  if (editing)
    return (
      <TalkForm
        partner={partner}
        talk={t}
        onDone={(saved) => {
          setEditing(false);
          if (saved) talk.reload();
        }}
      />
    );
  return (
    <>
      <div class="page-head">
        <h1>{t.name}</h1>
        <span class={`badge ${t.status}`}>{t.status}</span>
      </div>
      <div class="two">
        <section class="card" aria-labelledby="share">
          <h2 id="share">Share</h2>
          <p class="row">
            <a href={t.short_url} data-testid="short-url">
              {t.short_url}
            </a>{' '}
            <CopyButton text={t.short_url} what="short URL" />
          </p>
          <div
            class="qr"
            role="img"
            aria-label={`QR code for ${t.short_url}`}
            // uqr renders an SVG string locally; nothing is fetched.
            dangerouslySetInnerHTML={{ __html: renderSVG(t.short_url, { border: 2, whiteColor: '#ffffff', blackColor: '#000000' }) }}
          />
        </section>
        <section class="card" aria-labelledby="details">
          <h2 id="details">Details</h2>
          <dl class="facts">
            <dt>Starts</dt>
            <dd>{formatTime(t.start_time)}</dd>
            <dt>Ends</dt>
            <dd>{formatTime(t.end_time)}</dd>
            <dt>Repeats</dt>
            <dd>
              {t.schedule || t.schedule_talk_id ? (
                <>
                  {t.schedule ? describeRule(t.schedule, t.start_time) : 'Part of a series'} ·{' '}
                  <Link href={orgPath(partner.id, `series/${t.schedule_talk_id ?? t.id}`)}>The whole series</Link>
                </>
              ) : (
                'Does not repeat'
              )}
            </dd>
            <dt>Room type</dt>
            <dd>{t.room_type}</dd>
            <dt>Access</dt>
            <dd>{t.access}</dd>
            <dt>Microphones</dt>
            <dd>{t.mic_behavior}</dd>
            <dt>Theme</dt>
            <dd>{t.theme_id ? <ThemeName partner={partner} id={t.theme_id} /> : 'default'}</dd>
            <dt>Subscriptions</dt>
            <dd>{t.subscriptions_allowed ? 'allowed' : 'off'}</dd>
            <dt>Recording</dt>
            <dd>{t.recording ? 'on' : 'off'}</dd>
            <dt>Talk id</dt>
            <dd>
              <code>{t.id}</code>
            </dd>
          </dl>
          {t.description && <p>{t.description}</p>}
        </section>
      </div>
      <div class="row actions">
        <button type="button" onClick={() => setEditing(true)}>
          Edit talk
        </button>
        <Link class="button secondary" href={`${orgPath(partner.id, 'recordings')}?talk_id=${t.id}`}>
          Recordings
        </Link>
        {t.status === 'live' && (
          <ConfirmButton
            label="End talk"
            what={t.name}
            confirm="Everyone in the room is disconnected."
            onConfirm={() =>
              actions.run(async () => {
                await call('POST', `/api/v1/partners/talks/${t.id}/end`, undefined, { partner: partner.id });
                talk.reload();
              })
            }
          />
        )}
        <ConfirmButton
          label="Delete"
          what={t.name}
          confirm={t.schedule ? 'This deletes the whole series.' : 'The short URL stops working.'}
          onConfirm={() =>
            actions.run(async () => {
              await call('DELETE', `/api/v1/partners/talks/${t.id}`, undefined, { partner: partner.id });
              navigate(orgPath(partner.id, 'talks'));
            })
          }
        />
      </div>
      <FormAlert error={actions.error} fields={[]} />
      <InTheRoom partner={partner} talk={t} />
      <div class="two">
        <JoinAsHost partner={partner} talk={t} />
        <Invites partner={partner} talk={t} />
      </div>
      <Subscribers partner={partner} talk={t} />
    </>
  );
}

/** A theme by its name (its id is on the theme's page, for the API). */
function ThemeName({ partner, id }: { partner: Partner; id: string }) {
  const theme = useLoad(() => call<{ theme: { name: string } }>('GET', `/api/v1/partners/themes/${id}`, undefined, { partner: partner.id }), [partner.id, id]);
  return <Link href={orgPath(partner.id, `themes/${id}`)}>{theme.data?.theme.name ?? (theme.error ? 'a deleted theme' : 'loading…')}</Link>;
}
