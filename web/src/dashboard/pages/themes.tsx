import { useState } from 'preact/hooks';
import { type Partner, type Theme, call } from '../api';
import { Link, navigate } from '../router';
import { orgPath } from '../session';
import { useForm } from '../form';
import { ConfirmButton, CopyButton, Empty, Field, FormAlert, Loading, useLoad } from '../ui';

import { DEFAULT_THEME_COLORS as defaults, MIN_TEXT_CONTRAST, contrast, contrastProblems, textOn } from '../../../../src/themes/contrast.js';

type ColorKey = keyof typeof defaults;

/** Live, as colors change: the contrast of text on background and on cards, and whether the API will take it. */
function ContrastCheck({ colors }: { colors: Record<ColorKey, string> }) {
  const problems = contrastProblems(colors);
  const ratio = (on: 'background' | 'surface') => contrast(colors.text, colors[on]);
  const fmt = (r: number | null) => (r === null ? 'not a color' : `${r.toFixed(2)}:1`);
  return (
    <div data-testid="contrast" aria-live="polite">
      <p class="hint">
        Text contrast: {fmt(ratio('background'))} on the background, {fmt(ratio('surface'))} on cards (WCAG AA needs {MIN_TEXT_CONTRAST}:1).
      </p>
      {problems.length > 0 && (
        <p class="field-error" role="alert">
          This theme cannot be saved: {problems.map((x) => x.message).join('; ')}.
        </p>
      )}
    </div>
  );
}

export function ThemesPage({ partner }: { partner: Partner }) {
  const themes = useLoad(
    () => call<{ themes: Theme[] }>('GET', '/api/v1/partners/themes', undefined, { partner: partner.id, query: { limit: 200 } }),
    [partner.id],
  );
  return (
    <>
      <div class="page-head">
        <h1>Themes</h1>
        <Link class="button" href={orgPath(partner.id, 'themes/new')}>
          New theme
        </Link>
      </div>
      {!themes.data ? (
        <Loading error={themes.error} />
      ) : themes.data.themes.length === 0 ? (
        <Empty title="No themes yet">
          <p>A theme gives your talk pages your colors, logo and background. Create one, then pick it on a talk or pass its id as theme_id.</p>
        </Empty>
      ) : (
        <ul class="cards" aria-label="Themes">
          {themes.data.themes.map((t) => (
            <li key={t.id} class="card" data-theme={t.name}>
              <h2>
                <Link href={orgPath(partner.id, `themes/${t.id}`)}>{t.name}</Link>
              </h2>
              <p class="swatches" aria-hidden="true">
                {(Object.keys(defaults) as ColorKey[]).map((k) => (
                  <span key={k} style={{ background: t.colors[k] ?? defaults[k] }} />
                ))}
              </p>
              <p class="row">
                <code data-testid="theme-id">{t.id}</code> <CopyButton text={t.id} what={`id of theme ${t.name}`} label="Copy id" />
              </p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function ThemeEditor({ partner, id }: { partner: Partner; id: string }) {
  const existing = useLoad(
    () => (id === 'new' ? Promise.resolve(null) : call<{ theme: Theme }>('GET', `/api/v1/partners/themes/${id}`, undefined, { partner: partner.id })),
    [partner.id, id],
  );
  if (id !== 'new' && !existing.data) return <Loading error={existing.error} />;
  return <ThemeForm key={id} partner={partner} theme={existing.data?.theme ?? null} />;
}

function ThemeForm({ partner, theme }: { partner: Partner; theme: Theme | null }) {
  const [name, setName] = useState(theme?.name ?? '');
  const [colors, setColors] = useState<Record<ColorKey, string>>({ ...defaults, ...theme?.colors });
  const [logo, setLogo] = useState(theme?.logo_url ?? '');
  const [background, setBackground] = useState(theme?.background_url ?? '');
  const form = useForm();
  const error = form.error;
  const p = { partner: partner.id };
  const colorError = error?.field?.startsWith('colors') ? error : null;
  return (
    <>
      <h1>{theme ? `Theme: ${theme.name}` : 'New theme'}</h1>
      {theme && (
        <p class="row">
          Theme id: <code data-testid="theme-id">{theme.id}</code> <CopyButton text={theme.id} what="theme id" label="Copy id" />
        </p>
      )}
      <div class="two">
        <form
          class="card form"
          onSubmit={form.submit(async () => {
            const body = { name, colors, logo_url: logo || null, background_url: background || null };
            if (theme) await call<{ theme: Theme }>('PATCH', `/api/v1/partners/themes/${theme.id}`, body, p);
            else await call<{ theme: Theme }>('POST', '/api/v1/partners/themes', body, p);
            navigate(orgPath(partner.id, 'themes'));
          })}
        >
          <Field label="Name" name="name" value={name} onValue={setName} error={error} required />
          <fieldset>
            <legend>Colors</legend>
            {(Object.keys(defaults) as ColorKey[]).map((k) => (
              <div class="color" key={k}>
                <label for={`color-${k}`}>{k[0].toUpperCase() + k.slice(1)}</label>
                <input id={`color-${k}`} type="color" value={colors[k]} onInput={(e) => setColors({ ...colors, [k]: (e.target as HTMLInputElement).value })} />
                <input
                  aria-label={`${k} color as hex`}
                  value={colors[k]}
                  pattern="#[0-9a-fA-F]{3,8}"
                  onInput={(e) => setColors({ ...colors, [k]: (e.target as HTMLInputElement).value })}
                />
              </div>
            ))}
            <ContrastCheck colors={colors} />
            {colorError && (
              <p class="field-error" role="alert">
                {colorError.message}
              </p>
            )}
          </fieldset>
          <Field
            label="Logo URL"
            name="logo_url"
            type="url"
            value={logo}
            onValue={setLogo}
            error={error}
            hint="An https image URL (http is refused: browsers block it on https pages)."
          />
          <Field label="Background image URL" name="background_url" type="url" value={background} onValue={setBackground} error={error} />
          <FormAlert error={error} fields={['name', 'logo_url', 'background_url', ...(colorError ? [colorError.field ?? ''] : [])]} />
          <div class="row">
            <button type="submit">{theme ? 'Save theme' : 'Create theme'}</button>
            {theme && (
              <ConfirmButton
                label="Delete"
                what={`theme ${theme.name}`}
                confirm="Talks using it fall back to the default theme."
                onConfirm={async () => {
                  await call('DELETE', `/api/v1/partners/themes/${theme.id}`, undefined, p);
                  navigate(orgPath(partner.id, 'themes'));
                }}
              />
            )}
          </div>
        </form>
        <section aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          <TalkPreview colors={colors} logo={logo} background={background} />
        </section>
      </div>
    </>
  );
}

/** The talk page as participants see it, drawn with the same CSS variables the talk page uses. */
export function TalkPreview({ colors, logo, background }: { colors: Record<ColorKey, string>; logo: string; background: string }) {
  const style = {
    '--bg': colors.background,
    '--text': colors.text,
    '--accent': colors.accent,
    '--accent-text': textOn(colors.accent),
    '--surface': colors.surface,
    backgroundImage: background ? `url("${background.replace(/"/g, '')}")` : undefined,
  } as Record<string, string | undefined>;
  return (
    <div class="talk-preview" style={style} data-testid="theme-preview">
      <div class="tp-head">
        {logo ? <img src={logo} alt="Your logo" /> : <span class="tp-logo">Your logo</span>}
        <span class="tp-live">LIVE</span>
      </div>
      <h3>Weekly product Q&amp;A</h3>
      <div class="tp-people">
        {['Ada', 'Ben', 'Cleo', 'Dev'].map((n, i) => (
          <span key={n} class={`tp-person${i === 0 ? ' speaking' : ''}`}>
            <span class="tp-avatar">{n[0]}</span>
            {n}
          </span>
        ))}
      </div>
      <div class="tp-bar">
        <button type="button" tabIndex={-1}>
          Raise hand
        </button>
        <button type="button" tabIndex={-1} class="tp-leave">
          Leave
        </button>
      </div>
    </div>
  );
}
