import type { IncomingMessage } from 'node:http';
import pino, { type LoggerOptions } from 'pino';
import type { Config } from './config.js';

/**
 * The parts of a URL that are secrets: whoever holds one can act with it, so a log line must not
 * carry it. A team invitation's (its page and the API that accepts it), a reminder's unsubscribe
 * signature, a talk's stream key; and in a query, a password reset's token and a private
 * recording's signature.
 */
const SECRET_PATH_PARTS = [
  /^(\/api\/v1\/invites\/)[^/?#]+/,
  /^(\/dashboard\/invite\/)[^/?#]+/,
  /^(\/unsubscribe\/[^/?#]+\/)[^/?#]+/,
  /^(\/t\/[^/?#]+\/live\/)[^/?#]+/,
];
const SECRET_QUERY_VALUES = /([?&](?:token|sig|secret|key|api_token|access_token|password)=)[^&#]*/gi;
/** An invitation's page named in a query value (sign-up and log-in pages are `?next=%2Fdashboard%2Finvite%2F<secret>`). */
const INVITE_IN_VALUE = /((?:%2F|\/)dashboard(?:%2F|\/)invite(?:%2F|\/))[^&#/%]+/gi;
const REDACTED = '[redacted]';

/** A request's URL as a log line may show it: every secret part replaced by "[redacted]". */
export function redactRequestUrl(url: string): string {
  let shown = url;
  for (const part of SECRET_PATH_PARTS) shown = shown.replace(part, `$1${REDACTED}`);
  return shown.replace(SECRET_QUERY_VALUES, `$1${REDACTED}`).replace(INVITE_IN_VALUE, `$1${REDACTED}`);
}

/** A request as Fastify logs it ("incoming request"), with its URL's secrets redacted. */
function safeRequest(request: IncomingMessage & { ip?: string; host?: string }) {
  return {
    method: request.method,
    url: redactRequestUrl(request.url ?? ''),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** Database errors carry the query's parameters (which may be secrets): log everything but those. */
function safeError(err: unknown) {
  const serialized = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (serialized && typeof serialized === 'object') {
    delete serialized.params;
    delete serialized.parameters;
  }
  return serialized;
}

/** Everything the logs hide, in one place: the server, the commands and the tests log with these options. */
export function loggerOptions(config: Pick<Config, 'LOG_LEVEL'>): LoggerOptions {
  return {
    level: config.LOG_LEVEL,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.api_token', '*.secret', 'headers.authorization'],
      censor: REDACTED,
    },
    serializers: { err: safeError, req: safeRequest },
  };
}
