import { useState } from 'preact/hooks';
import { ApiError, type Me, call, setCsrf } from '../api';
import { Link, navigate } from '../router';
import { orgPath, useSession } from '../session';
import { useForm } from '../form';
import { Field, FormAlert, useLoad, Loading } from '../ui';

function AuthCard({ title, children }: { title: string; children: preact.ComponentChildren }) {
  return (
    <main id="main" class="auth">
      <p class="brand" aria-hidden="true">
        smalltalk
      </p>
      <section class="card">
        <h1>{title}</h1>
        {children}
      </section>
    </main>
  );
}

function after(me: Me, next: string | null) {
  if (next?.startsWith('/dashboard/')) return navigate(next, { replace: true });
  navigate(me.partners.length ? orgPath(me.partners[0].id) : '/dashboard/orgs/new', { replace: true });
}

export function SignUp({ next }: { next: string | null }) {
  const { setMe } = useSession();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const form = useForm();
  const error = form.error;
  return (
    <AuthCard title="Create your smalltalk account">
      <form
        onSubmit={form.submit(async () => {
          const me = await call<Me>('POST', '/api/v1/auth/signup', { name, email, password });
          setCsrf(me.csrf_token);
          setMe(me);
          after(me, next);
        })}
      >
        <Field label="Your name" name="name" value={name} onValue={setName} error={error} required autocomplete="name" />
        <Field label="Email" name="email" type="email" value={email} onValue={setEmail} error={error} required autocomplete="email" />
        <Field
          label="Password"
          name="password"
          type="password"
          value={password}
          onValue={setPassword}
          error={error}
          required
          autocomplete="new-password"
          hint="At least 8 characters."
        />
        <FormAlert error={error} fields={['name', 'email', 'password']} />
        <button type="submit" disabled={form.pending}>
          Sign up
        </button>
      </form>
      <p>
        Have an account? <Link href={`/dashboard/login${next ? `?next=${encodeURIComponent(next)}` : ''}`}>Log in</Link>
      </p>
      <p class="muted">
        Signing up with an email that already has an account changes nothing: we email its owner a note instead, and you log in with your password (or reset
        it).
      </p>
    </AuthCard>
  );
}

export function LogIn({ next }: { next: string | null }) {
  const { setMe } = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // A wrong email or password concerns the password field (the email may be right).
  const form = useForm((fe, err) => (err instanceof ApiError && err.status === 401 ? { ...fe, field: 'password' } : fe));
  const error = form.error;
  return (
    <AuthCard title="Log in to smalltalk">
      <form
        onSubmit={form.submit(async () => {
          const me = await call<Me>('POST', '/api/v1/auth/login', { email, password });
          setCsrf(me.csrf_token);
          setMe(me);
          after(me, next);
        })}
      >
        <Field label="Email" name="email" type="email" value={email} onValue={setEmail} error={error} required autocomplete="email" />
        <Field label="Password" name="password" type="password" value={password} onValue={setPassword} error={error} required autocomplete="current-password" />
        <FormAlert error={error} fields={['email', 'password']} />
        <button type="submit" disabled={form.pending}>
          Log in
        </button>
      </form>
      <p>
        <Link href="/dashboard/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New here? <Link href={`/dashboard/signup${next ? `?next=${encodeURIComponent(next)}` : ''}`}>Create an account</Link>
      </p>
    </AuthCard>
  );
}

export function ForgotPassword() {
  const [email, setEmail] = useState('');
  const form = useForm();
  const error = form.error;
  const [sent, setSent] = useState(false);
  return (
    <AuthCard title="Reset your password">
      {sent ? (
        <p role="status">
          If an account uses <strong>{email}</strong>, a reset link is on its way. It works for an hour. (Without email set up on this server, the operator
          finds the link in the server log.)
        </p>
      ) : (
        <form
          onSubmit={form.submit(async () => {
            await call('POST', '/api/v1/auth/forgot-password', { email });
            setSent(true);
          })}
        >
          <Field label="Email" name="email" type="email" value={email} onValue={setEmail} error={error} required autocomplete="email" />
          <FormAlert error={error} fields={['email']} />
          <button type="submit">Send me a reset link</button>
        </form>
      )}
      <p>
        <Link href="/dashboard/login">Back to log in</Link>
      </p>
    </AuthCard>
  );
}

export function ResetPassword({ token }: { token: string }) {
  const { setMe } = useSession();
  const [password, setPassword] = useState('');
  const form = useForm();
  const error = form.error;
  return (
    <AuthCard title="Choose a new password">
      <form
        onSubmit={form.submit(async () => {
          const me = await call<Me>('POST', '/api/v1/auth/reset-password', { token, password });
          setCsrf(me.csrf_token);
          setMe(me);
          after(me, null);
        })}
      >
        <Field
          label="New password"
          name="password"
          type="password"
          value={password}
          onValue={setPassword}
          error={error}
          required
          autocomplete="new-password"
          hint="At least 8 characters. Every other session of your account is logged out."
        />
        <FormAlert error={error} fields={['password']} />
        <button type="submit">Set password and log in</button>
      </form>
      {error?.field === 'token' && (
        <p>
          <Link href="/dashboard/forgot-password">Ask for a new link</Link>
        </p>
      )}
    </AuthCard>
  );
}

export function NewOrg() {
  const { me, refresh } = useSession();
  const [name, setName] = useState('');
  const form = useForm();
  const error = form.error;
  return (
    <AuthCard title={me?.partners.length ? 'Create another organization' : 'Create your organization'}>
      <p class="muted">
        An organization holds your talks, groups, themes, recordings and API tokens. Name it after your product or company; you can invite teammates next.
      </p>
      <form
        onSubmit={form.submit(async () => {
          const { partner } = await call<{ partner: { id: string } }>('POST', '/api/v1/orgs', { name });
          await refresh();
          navigate(orgPath(partner.id, 'settings'));
        })}
      >
        <Field label="Organization name" name="name" value={name} onValue={setName} error={error} required autocomplete="organization" />
        <FormAlert error={error} fields={['name']} />
        <button type="submit">Create organization</button>
      </form>
    </AuthCard>
  );
}

export function AcceptInvite({ token }: { token: string }) {
  const { me, refresh } = useSession();
  const invite = useLoad(() => call<{ invite: { partner_name: string; role: string } }>('GET', `/api/v1/invites/${encodeURIComponent(token)}`), [token]);
  // Rendered with key={token}: another invitation starts with no error.
  const form = useForm();
  const here = `/dashboard/invite/${token}`;
  if (!invite.data) return <AuthCard title="Invitation">{<Loading error={invite.error} />}</AuthCard>;
  const { partner_name, role } = invite.data.invite;
  return (
    <AuthCard title={`Join ${partner_name}`}>
      <p>
        You are invited to <strong>{partner_name}</strong> as <strong>{role}</strong>.
      </p>
      {me ? (
        <>
          <button
            type="button"
            onClick={() =>
              form.run(async () => {
                const { partner } = await call<{ partner: { id: string } }>('POST', `/api/v1/invites/${encodeURIComponent(token)}/accept`);
                await refresh();
                navigate(orgPath(partner.id));
              })
            }
          >
            Join as {me.user.name}
          </button>
          <FormAlert error={form.error} fields={[]} />
        </>
      ) : (
        <p>
          <Link href={`/dashboard/signup?next=${encodeURIComponent(here)}`}>Create an account</Link> or{' '}
          <Link href={`/dashboard/login?next=${encodeURIComponent(here)}`}>log in</Link> to accept.
        </p>
      )}
    </AuthCard>
  );
}
