import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * The environment, parsed once at start-up. Nothing else in the code base reads process.env:
 * components receive the parts they need through their constructors.
 */
const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ default: '0.0.0.0' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  DATA_DIR: Type.String({ default: './data' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_SCHEMA: Type.String({ default: 'public', pattern: '^[a-z_][a-z0-9_]*$' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  SECRET_KEY: Type.Optional(Type.String({ minLength: 32 })),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 600 }),
  TOKEN_CACHE_SECONDS: Type.Number({ minimum: 0, default: 5 }),
  /** Memory for rendered talk list pages (0 turns the cache off). */
  TALK_LIST_CACHE_MB: Type.Number({ minimum: 0, default: 32 }),
  /** The longest a rendered talk list page is kept, even if no change was heard. */
  TALK_LIST_CACHE_SECONDS: Type.Number({ minimum: 1, default: 60 }),
  /** The home page (`/`) lists the public talks of every partner on this server: live, upcoming, past. */
  HOME_PUBLIC_TALKS: Type.Boolean({ default: false }),
  /** Accounts one address may create: this many at once, then this many an hour (0: no limit). */
  SIGNUPS_PER_HOUR: Type.Integer({ minimum: 0, default: 5 }),
  /** `true`/`false`, a hop count (`1`), or a comma list of the proxies' addresses/CIDRs: parsed by trustProxyOf. */
  TRUST_PROXY: Type.String({ default: 'false' }),
  // Webhooks
  WEBHOOK_ALLOW_PRIVATE_URLS: Type.Boolean({ default: false }),
  WEBHOOK_ALLOW_HTTP: Type.Boolean({ default: false }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 15000 }),
  /** Comma-separated retry delays in seconds, after the first attempt. */
  WEBHOOK_RETRY_SCHEDULE: Type.String({ default: '0,5,300,1800,7200,18000,36000,36000' }),
  WEBHOOK_DISABLE_AFTER_HOURS: Type.Number({ minimum: 0, default: 120 }),
  // Live rooms and media
  SFU_WORKERS: Type.Integer({ minimum: 0, default: 0 }),
  /** The SFU's WebRTC engine: datachannel (libdatachannel through node-datachannel, in a media process) or werift (JavaScript, in worker threads). */
  SFU_ENGINE: Type.Union([Type.Literal('werift'), Type.Literal('datachannel')], { default: 'datachannel' }),
  /** Joins each SFU worker negotiates at once (SDP, ICE, DTLS); the rest wait their turn. */
  SFU_NEGOTIATIONS: Type.Integer({ minimum: 1, default: 8 }),
  RTC_ANNOUNCED_IP: Type.Optional(Type.String()),
  RTC_LISTEN_IP: Type.String({ default: '0.0.0.0' }),
  RTC_PORT_MIN: Type.Integer({ minimum: 1024, maximum: 65535, default: 40000 }),
  RTC_PORT_MAX: Type.Integer({ minimum: 1024, maximum: 65535, default: 49999 }),
  TURN_URLS: Type.Optional(Type.String()),
  TURN_USERNAME: Type.Optional(Type.String()),
  TURN_CREDENTIAL: Type.Optional(Type.String()),
  EMPTY_ROOM_TIMEOUT_SECONDS: Type.Number({ minimum: 1, default: 300 }),
  RECONNECT_GRACE_SECONDS: Type.Number({ minimum: 0, default: 20 }),
  /** Guests (no join token, not a member) who may join from one address a minute, in a burst or spread (0: no limit). */
  GUEST_JOINS_PER_MINUTE: Type.Integer({ minimum: 0, default: 60 }),
  /** Scaled mode: this node's own address, where other nodes send the sockets of the rooms it hosts. */
  NODE_PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Scaled mode: how often a node renews its claim on the rooms it hosts (stale, so taken over, after 3x). */
  ROOM_HEARTBEAT_SECONDS: Type.Number({ minimum: 0.1, default: 10 }),
  // Recording and transcription
  STORAGE: Type.Union([Type.Literal('local'), Type.Literal('s3')], { default: 'local' }),
  S3_BUCKET: Type.Optional(Type.String()),
  S3_REGION: Type.String({ default: 'us-east-1' }),
  S3_ENDPOINT: Type.Optional(Type.String()),
  S3_ACCESS_KEY_ID: Type.Optional(Type.String()),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String()),
  /**
   * Several nodes with local storage: a recording whose node died is left to that node (its track
   * files are on its disk; it finalizes them when it restarts). After this long without it coming
   * back, the recording is marked failed with a reason.
   */
  RECORDING_ABANDON_HOURS: Type.Number({ minimum: 0.001, default: 24 }),
  /** Several nodes: a recording whose node has not renewed its lease for this long is taken for abandoned. */
  RECORDING_LEASE_SECONDS: Type.Number({ minimum: 1, default: 30 }),
  TRANSCRIBE_ENGINE: Type.Union([Type.Literal('pocketsphinx'), Type.Literal('whisper'), Type.Literal('http'), Type.Literal('none')], {
    default: 'pocketsphinx',
  }),
  WHISPER_MODEL_PATH: Type.Optional(Type.String()),
  TRANSCRIBE_HTTP_URL: Type.Optional(Type.String()),
  TRANSCRIBE_HTTP_API_KEY: Type.Optional(Type.String()),
  TRANSCRIBE_HTTP_MODEL: Type.String({ default: 'whisper-1' }),
  LIVE_CAPTIONS: Type.Boolean({ default: true }),
  LIVE_STREAM: Type.Boolean({ default: true }),
  /**
   * In a `hosted_events` talk, a listener who joins when this many listeners already hear it over
   * WebRTC listens through the LL-HLS stream instead (the audience tier); needs LIVE_STREAM.
   */
  AUDIENCE_WEBRTC_LISTENERS: Type.Integer({ minimum: 0, default: 200 }),
  SMTP_URL: Type.Optional(Type.String()),
  MAIL_FROM: Type.String({ default: 'smalltalk <no-reply@localhost>' }),
  /** Subscribers of a talk get a reminder email this many minutes before it starts (needs SMTP_URL). */
  REMINDER_LEAD_MINUTES: Type.Number({ minimum: 1, maximum: 10080, default: 15 }),
  /** How often a node looks for talks about to start and replays just ready, to queue their emails. */
  REMINDER_SCAN_SECONDS: Type.Number({ minimum: 0.1, default: 30 }),
});

type Env = Static<typeof EnvSchema>;

export interface Config extends Omit<Env, 'PUBLIC_URL' | 'SECRET_KEY' | 'WEBHOOK_RETRY_SCHEDULE' | 'TRUST_PROXY'> {
  /** Which proxies' X-Forwarded-For to believe, as Fastify's `trustProxy` takes it. */
  TRUST_PROXY: boolean | number | string[];
  PUBLIC_URL: string;
  SECRET_KEY: string;
  /** Retry delays in seconds after the first attempt. */
  WEBHOOK_RETRY_SCHEDULE: number[];
  /** `pglite` when DATABASE_URL is unset (embedded), else `postgres`. */
  dbKind: 'pglite' | 'postgres';
}

export class ConfigError extends Error {}

const booleanish: Record<string, boolean> = { true: true, '1': true, yes: true, false: false, '0': false, no: false };

/** Values never printed, even rejected ones (a near-miss secret is still most of a secret; URLs may carry passwords). */
const secretKeys = new Set(['SECRET_KEY', 'TURN_CREDENTIAL', 'S3_SECRET_ACCESS_KEY', 'TRANSCRIBE_HTTP_API_KEY', 'DATABASE_URL', 'REDIS_URL', 'SMTP_URL']);

/** A variable as an error line shows it: `KEY="value"`, or only the length of a secret's value. */
function shown(key: string, value: string | undefined): string {
  if (!key) return '(env)';
  if (secretKeys.has(key)) return `${key} (value not shown, ${value?.length ?? 0} characters)`;
  return `${key}=${JSON.stringify(value ?? '')}`;
}

/** Parses `env` (default process.env) against the schema; throws ConfigError with one line per bad value. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(EnvSchema.properties)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    const kind = (prop as { type?: string }).type;
    if (kind === 'integer' || kind === 'number') raw[key] = Number(value);
    else if (kind === 'boolean') raw[key] = booleanish[value.toLowerCase()] ?? value;
    else raw[key] = value;
  }
  const withDefaults = Value.Default(EnvSchema, raw) as Env;
  const errors = [...Value.Errors(EnvSchema, withDefaults)];
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${shown(e.path.slice(1), env[e.path.slice(1)])}: ${e.message}`);
    throw new ConfigError(`Invalid configuration:\n${[...new Set(lines)].join('\n')}`);
  }
  const schedule = withDefaults.WEBHOOK_RETRY_SCHEDULE.split(',').map((s) => Number(s.trim()));
  if (schedule.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new ConfigError(`Invalid configuration:\n  WEBHOOK_RETRY_SCHEDULE: expected comma-separated seconds, got ${withDefaults.WEBHOOK_RETRY_SCHEDULE}`);
  }
  if (withDefaults.RTC_PORT_MIN > withDefaults.RTC_PORT_MAX) {
    throw new ConfigError('Invalid configuration:\n  RTC_PORT_MIN must not be above RTC_PORT_MAX');
  }
  if (withDefaults.STORAGE === 's3' && !withDefaults.S3_BUCKET) {
    throw new ConfigError('Invalid configuration:\n  S3_BUCKET is required when STORAGE=s3');
  }
  const trustProxy = trustProxyOf(withDefaults.TRUST_PROXY);
  const dataDir = path.resolve(withDefaults.DATA_DIR);
  const publicUrl = (withDefaults.PUBLIC_URL ?? `http://localhost:${withDefaults.PORT}`).replace(/\/+$/, '');
  const config: Config = {
    ...withDefaults,
    DATA_DIR: dataDir,
    PUBLIC_URL: publicUrl,
    SECRET_KEY: withDefaults.SECRET_KEY ?? '',
    WEBHOOK_RETRY_SCHEDULE: schedule,
    TRUST_PROXY: trustProxy,
    dbKind: withDefaults.DATABASE_URL ? 'postgres' : 'pglite',
    ...overrides,
  };
  if (!config.SECRET_KEY) config.SECRET_KEY = embeddedSecret(config);
  return config;
}

/**
 * TRUST_PROXY: `true` believes every X-Forwarded-For hop (only safe behind a proxy that overwrites
 * the header), a number believes that many hops from our side, a list believes the hops that come
 * from those addresses or CIDRs. `1` is a hop count here, not `true`.
 */
function trustProxyOf(value: string): boolean | number | string[] {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no' || v === '0') return false;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v.split(',').map((s) => s.trim());
  const bad = list.find((entry) => {
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return true;
    return bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
  if (bad !== undefined) {
    throw new ConfigError(
      `Invalid configuration:\n  TRUST_PROXY: expected true, false, a hop count or a comma list of proxy addresses/CIDRs; ${JSON.stringify(bad)} is none`,
    );
  }
  return list;
}

/**
 * Embedded mode keeps a generated secret in DATA_DIR so signed URLs survive restarts.
 * Several nodes (Postgres mode) must share SECRET_KEY, so there it is required.
 */
function embeddedSecret(config: Config): string {
  if (config.dbKind === 'postgres') {
    throw new ConfigError('Invalid configuration:\n  SECRET_KEY (32+ characters) is required with DATABASE_URL, so that every node signs alike');
  }
  mkdirSync(config.DATA_DIR, { recursive: true });
  const file = path.join(config.DATA_DIR, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
export const configKeys = Object.keys(EnvSchema.properties);

/**
 * A `smalltalk` subcommand a feature adds: its arguments, the config (parsed when first asked for)
 * and, for a command that needs the app's services (`S`), a way to have them opened around its work
 * and closed after (the CLI owns that: a feature never builds the app itself); resolves to the exit code.
 */
export type Command<S = never> = (args: string[], config: () => Config, withServices: <T>(work: (services: S) => Promise<T>) => Promise<T>) => Promise<number>;
