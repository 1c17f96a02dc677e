import { useState } from 'preact/hooks';
import { type Partner, call } from '../api';
import { useForm } from '../form';
import { canAdmin } from '../session';
import { CopyButton, Field, FormAlert, Loading, useLoad } from '../ui';
import { Members } from './settings-members';
import { Tokens } from './settings-tokens';

export function SettingsPage({ partner }: { partner: Partner }) {
  return (
    <>
      <h1>Organization settings</h1>
      <section class="card" aria-labelledby="pid">
        <h2 id="pid">Partner id</h2>
        <p class="muted">Your organization's id in the API (X-Partner-Id, partner_id in answers).</p>
        <p class="row">
          <code data-testid="partner-id">{partner.id}</code> <CopyButton text={partner.id} what="partner id" />
        </p>
      </section>
      {canAdmin(partner) ? (
        <Tokens partner={partner} />
      ) : (
        <section class="card">
          <h2>API tokens</h2>
          <p>Only owners and admins of {partner.name} manage API tokens. Ask one of them for a token.</p>
        </section>
      )}
      <Members partner={partner} />
      <EmbedOrigins partner={partner} />
    </>
  );
}

/** The partner's own sites that may frame its talk pages (and open their room sockets). */
function EmbedOrigins({ partner }: { partner: Partner }) {
  const settings = useLoad(() => call<{ settings: { embed_origins: string[] } }>('GET', `/api/v1/orgs/${partner.id}/settings`), [partner.id]);
  const [text, setText] = useState<string | null>(null);
  const form = useForm((fe) => (fe.field?.startsWith('embed_origins') ? { ...fe, field: 'embed_origins' } : fe));
  const error = form.error;
  const [saved, setSaved] = useState(false);
  if (!settings.data) return <Loading error={settings.error} />;
  const value = text ?? settings.data.settings.embed_origins.join(' ');
  return (
    <section class="card" aria-labelledby="embed">
      <h2 id="embed">Embedding talk pages</h2>
      <p class="muted">
        By default no other site can show your talk pages in a frame. List your own sites' origins (https:// and the host, no path) to embed them there.
      </p>
      {canAdmin(partner) ? (
        <form
          onSubmit={form.submit(async () => {
            setSaved(false);
            const origins = value.split(/[\s,]+/).filter(Boolean);
            const r = await call<{ settings: { embed_origins: string[] } }>('PUT', `/api/v1/orgs/${partner.id}/settings`, { embed_origins: origins });
            setText(r.settings.embed_origins.join(' '));
            setSaved(true);
          })}
        >
          <Field
            label="Allowed embed origins"
            name="embed_origins"
            value={value}
            onValue={setText}
            error={error}
            placeholder="https://www.example.com"
            hint="Separate several with spaces or commas. Leave empty so that no site frames your talks."
          />
          <FormAlert error={error} fields={['embed_origins']} />
          <button type="submit">Save embed origins</button>
          {saved && <p role="status">Saved.</p>}
        </form>
      ) : (
        <p>{value ? `Allowed: ${value}` : 'No site may frame your talk pages.'} Owners and admins change this.</p>
      )}
    </section>
  );
}
