import { useCallback, useEffect, useState } from 'preact/hooks';
import { type Me, call, setCsrf } from './api';
import { AcceptInvite, ForgotPassword, LogIn, NewOrg, ResetPassword, SignUp } from './pages/auth';
import { GroupDetail, GroupsPage } from './pages/groups';
import { RecordingDetail, RecordingsPage } from './pages/recordings';
import { SeriesPage } from './pages/series';
import { SettingsPage } from './pages/settings';
import { TalkDetail } from './pages/talk';
import { TalkForm } from './pages/talk-form';
import { TalksPage } from './pages/talks';
import { ThemeEditor, ThemesPage } from './pages/themes';
import { WebhookDetail } from './pages/webhook';
import { WebhooksPage } from './pages/webhooks';
import { Link, match, navigate, useLocation } from './router';
import { SessionContext, orgPath } from './session';
import { Loading } from './ui';

const sections: [string, string][] = [
  ['talks', 'Talks'],
  ['groups', 'Groups'],
  ['themes', 'Themes'],
  ['recordings', 'Recordings'],
  ['webhooks', 'Webhooks'],
  ['settings', 'Settings'],
];

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);
  const refresh = useCallback(async () => {
    try {
      const m = await call<Me>('GET', '/api/v1/auth/me');
      setCsrf(m.csrf_token);
      setMe(m);
    } catch {
      setMe(null);
    }
    setChecked(true);
  }, []);
  useEffect(() => {
    refresh();
  }, [refresh]);
  const { path, query } = useLocation();

  let page: preact.ComponentChildren;
  const publicPages: [string, () => preact.ComponentChildren][] = [
    ['/dashboard/signup', () => <SignUp next={query.get('next')} />],
    ['/dashboard/login', () => <LogIn next={query.get('next')} />],
    ['/dashboard/forgot-password', () => <ForgotPassword />],
    ['/dashboard/reset-password', () => <ResetPassword token={query.get('token') ?? ''} />],
    ['/dashboard/invite/:token', () => null],
  ];
  const invite = match('/dashboard/invite/:token', path);
  const pub = publicPages.find(([p]) => match(p, path));
  const session = { me, setMe, refresh };
  if (!checked) page = <Loading />;
  else if (invite) page = <AcceptInvite key={invite.token} token={invite.token} />;
  else if (pub && (!me || path === '/dashboard/reset-password')) page = pub[1]();
  else if (!me) {
    navigate(`/dashboard/login${path !== '/dashboard' && !pub ? `?next=${encodeURIComponent(path)}` : ''}`, { replace: true });
    page = <Loading />;
  } else if (path === '/dashboard/orgs/new') page = <NewOrg />;
  else {
    const org = match('/dashboard/o/:org/:section', path) ?? match('/dashboard/o/:org/:section/:id', path);
    const partner = org && me.partners.find((p) => p.id === org.org);
    if (!org || !partner) {
      navigate(me.partners.length ? orgPath(me.partners[0].id) : '/dashboard/orgs/new', { replace: true });
      page = <Loading />;
    } else {
      const id = org.id;
      const p = partner;
      const content =
        org.section === 'talks' ? (
          id === 'new' ? (
            <TalkForm partner={p} />
          ) : id ? (
            <TalkDetail partner={p} id={id} />
          ) : (
            <TalksPage partner={p} />
          )
        ) : org.section === 'series' && id ? (
          <SeriesPage partner={p} id={id} />
        ) : org.section === 'groups' ? (
          id ? (
            <GroupDetail partner={p} id={id} />
          ) : (
            <GroupsPage partner={p} />
          )
        ) : org.section === 'themes' ? (
          id ? (
            <ThemeEditor partner={p} id={id} />
          ) : (
            <ThemesPage partner={p} />
          )
        ) : org.section === 'recordings' ? (
          id ? (
            <RecordingDetail partner={p} id={id} />
          ) : (
            <RecordingsPage partner={p} talkId={query.get('talk_id')} />
          )
        ) : org.section === 'webhooks' ? (
          id ? (
            <WebhookDetail partner={p} id={id} />
          ) : (
            <WebhooksPage partner={p} />
          )
        ) : org.section === 'settings' ? (
          <SettingsPage partner={p} />
        ) : (
          <p>Nothing here.</p>
        );
      page = (
        <>
          <header class="top">
            <a class="skip" href="#main">
              Skip to content
            </a>
            <span class="brand">smalltalk</span>
            <label class="org-switch">
              <span class="visually-hidden">Organization</span>
              <select
                value={p.id}
                onChange={(e) => {
                  const v = (e.target as HTMLSelectElement).value;
                  navigate(v === 'new' ? '/dashboard/orgs/new' : orgPath(v, org.section));
                }}
              >
                {me.partners.map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.name}
                  </option>
                ))}
                <option value="new">+ New organization</option>
              </select>
            </label>
            <nav aria-label="Sections">
              {sections.map(([s, label]) => (
                <Link key={s} href={orgPath(p.id, s)} aria-current={org.section === s ? 'page' : undefined}>
                  {label}
                </Link>
              ))}
            </nav>
            <span class="user">
              <span class="muted">{me.user.name}</span>
              <button
                type="button"
                class="secondary"
                onClick={async () => {
                  await call('POST', '/api/v1/auth/logout').catch(() => {});
                  setMe(null);
                  navigate('/dashboard/login');
                }}
              >
                Log out
              </button>
            </span>
          </header>
          <main id="main" tabIndex={-1}>
            {content}
          </main>
        </>
      );
    }
  }
  return <SessionContext.Provider value={session}>{page}</SessionContext.Provider>;
}
