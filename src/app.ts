import { randomUUID } from 'node:crypto';
import querystring from 'node:querystring';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { accountRoutes } from './accounts/routes.js';
import { groupRoutes } from './groups/routes.js';
import { homeRoutes } from './home/routes.js';
import { AppError, type ErrorBody, type ErrorCode, errorCatalogue } from './platform/errors.js';
import { type App, ErrorEnvelope, hostileValue, utf8Body } from './platform/http.js';
import { idempotency } from './platform/idempotency.js';
import { requirePartner } from './platform/auth.js';
import { isDatabaseUnavailable } from './platform/db/index.js';
import { SharedRedis } from './platform/redis.js';
import { Sealer } from './platform/sealed.js';
import { registerSecurityHeaders } from './platform/security-headers.js';
import { serveAssets } from './platform/web.js';
import type { Services } from './compose.js';
import { recordingFileRoutes, recordingRoutes } from './recordings/routes.js';
import { talkPageRoutes, talkRoutes } from './talks/routes.js';
import { themeRoutes } from './themes/routes.js';

/** How long /readyz waits for the database before it answers 503. */
const READY_TIMEOUT_MS = 2_000;
/** Retry-After on a 503 while the database is unreachable. */
const RETRY_AFTER_SECONDS = 5;

/** Builds the HTTP app on already-opened services. Features register their own routes. */
export async function buildApp(services: Services): Promise<App> {
  const { config } = services;
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    genReqId: (req) => {
      const sent = req.headers['x-request-id'];
      return typeof sent === 'string' && /^[\w.-]{1,64}$/.test(sent) ? sent : randomUUID();
    },
    // A hop count as proxy-addr has always read it (this Fastify trusts nothing for a bare number):
    // the peer and the hops after it up to that count are proxies, the next address is the client.
    trustProxy: typeof config.TRUST_PROXY === 'number' ? trustHops(config.TRUST_PROXY) : config.TRUST_PROXY,
    bodyLimit: 1024 * 1024,
    // Errors Fastify and Node answer before any route runs (a malformed URL, an over-long path
    // parameter, headers past Node's limit) get our envelope and a request id like the rest.
    frameworkErrors: (error, request, reply) => sendError(reply, error, request.id),
    clientErrorHandler: (error, socket) => answerClientError(services.log, error, socket),
    ajv: { customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });
  // After validation (which coerces `limit=1e309` to Infinity) and before any handler: values
  // no column can hold are a 400 on every route, not a database error.
  app.addHook('preHandler', async (request) => {
    const hostile = hostileValue(request.params) ?? hostileValue(request.query) ?? hostileValue(request.body);
    if (hostile) throw hostile;
  });

  await registerSecurityHeaders(app, config);
  await app.register(cookie, { secret: config.SECRET_KEY });
  await app.register(formbody);
  // Partners' clients send form bodies under a JSON content type (the doc's own PUT/DELETE
  // examples do): parse JSON, and fall back to form decoding when the body is plainly a form.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    const text = utf8Body(body as Buffer).trim();
    if (text === '') return done(null, {});
    try {
      return done(null, JSON.parse(text));
    } catch {
      if (/^[^{["\s][^=\s]*=/.test(text)) return done(null, querystring.parse(text));
      return done(new AppError('bad_request', 'the body is not valid JSON'), undefined);
    }
  });
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (_req, body, done) => {
    const text = utf8Body(body as Buffer).trim();
    if (text === '') return done(null, {});
    try {
      return done(null, JSON.parse(text));
    } catch {
      return done(null, querystring.parse(text));
    }
  });

  app.addSchema(ErrorEnvelope);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'smalltalk partner API',
        version: '1.0.0',
        license: { name: 'MIT', identifier: 'MIT' },
        description:
          'Create and manage talks, groups, themes, recordings and webhooks. Authenticate with `Authorization: Bearer <API token>` ' +
          '(find the token in your organization settings). Every answer is an envelope with `"error": null` on success.',
      },
      servers: [{ url: config.PUBLIC_URL }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'st_session' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.setErrorHandler((unmapped: FastifyError | AppError, request, reply) => {
    // The database went away under this request (restart, failover, dropped connection): the
    // client may retry shortly. Logged as a warning, without the query's parameters.
    if (!isDatabaseUnavailable(unmapped)) return sendError(reply, unmapped, request.id);
    request.log.warn({ err: { message: unmapped.message, code: unmapped.code } }, 'database unreachable');
    const error = new AppError('service_unavailable', 'the database is unreachable at the moment; retry shortly', undefined, {
      'retry-after': String(RETRY_AFTER_SECONDS),
    });
    return sendError(reply, error, request.id, false);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, request_id: request.id } });
  });

  // Shared rate-limit counters across nodes (scaled mode); closed with the app.
  const redis = config.REDIS_URL ? new SharedRedis(config.REDIS_URL, services.log) : undefined;
  if (redis) app.addHook('onClose', () => redis.close());

  // Liveness: the process answers. Readiness: the database answers within READY_TIMEOUT_MS (a
  // stalled database must not hang the probe). Redis unreachable leaves the node ready but
  // degraded: the API works, with rate limits counted per node meanwhile.
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const database = (await services.db.ping(READY_TIMEOUT_MS)) ? 'ok' : 'unreachable';
    const checks: Record<string, string> = { database };
    if (redis) checks.redis = redis.up ? 'ok' : 'unreachable (rate limits per node)';
    if (database !== 'ok') {
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return reply.code(503).send({ status: 'database unreachable', checks });
    }
    return reply.code(200).send({ status: redis && !redis.up ? 'degraded' : 'ready', checks });
  });

  await serveAssets(app);
  await accountRoutes(app, services);
  await talkPageRoutes(app, services);
  await homeRoutes(app, services);
  await recordingFileRoutes(app, services.recordings);

  // Everything a partner calls with an API token: one scope, one auth hook, one rate limit.
  await app.register(async (partnerApi) => {
    const auth = requirePartner(services.accounts);
    partnerApi.addHook('onRequest', auth);
    await partnerApi.register(rateLimit, {
      global: true,
      hook: 'preHandler',
      max: config.RATE_LIMIT_PER_MINUTE,
      timeWindow: 60_000,
      store: redis?.rateLimitStore('smalltalk-rl:'),
      keyGenerator: (request) => request.partner?.tokenId ?? `${request.partner?.partnerId}:${request.sessionUser?.userId}`,
      errorResponseBuilder: (_request, context) =>
        new AppError('rate_limited', `rate limit of ${context.max} requests a minute reached; retry in ${Math.ceil(context.ttl / 1000)} s`, undefined, {
          'retry-after': String(Math.ceil(context.ttl / 1000)),
        }),
    });
    const idem = idempotency(services.db.db, new Sealer(config.SECRET_KEY, 'idempotent answers'));
    partnerApi.addHook('preHandler', idem.preHandler);
    partnerApi.addHook('onSend', idem.onSend);
    await talkRoutes(partnerApi as App, services.talks);
    await groupRoutes(partnerApi as App, services);
    await themeRoutes(partnerApi as App, services.themes);
    await recordingRoutes(partnerApi as App, services.recordings);
    for (const feature of services.features) await feature.partnerRoutes?.(partnerApi as App);
  });
  for (const feature of services.features) await feature.publicRoutes?.(app);

  return app;
}

/**
 * Answers an error in our envelope; 5xx are logged with their details, which the client never sees.
 * A 503 of ours (`service_unavailable`, with Retry-After: ask again) is a moment we expect, not a
 * failure: one warning line without a stack (a stream's listeners ask again by the thousand while its
 * node restarts).
 */
function sendError(reply: FastifyReply, error: FastifyError | AppError, requestId: string, logFailure = true) {
  const body = toErrorBody(error, requestId);
  const status = error instanceof AppError ? error.status : statusOf(error, body.code);
  const askAgain = error instanceof AppError && error.code === 'service_unavailable';
  if (status >= 500 && logFailure && !askAgain) reply.log.error({ err: error }, 'request failed');
  else if (askAgain && logFailure) reply.log.warn({ code: body.code }, body.message);
  else reply.log.info({ code: body.code, field: body.field }, body.message);
  if (error instanceof AppError) reply.headers(error.headers);
  return reply.code(status).header('x-request-id', requestId).send({ error: body });
}

/**
 * Node answers some requests before Fastify sees them: headers (request line included) past its
 * limit, a request that never finishes arriving, bytes that are not HTTP. Same envelope, with a
 * request id that the log line carries too.
 */
function answerClientError(log: FastifyBaseLogger | Services['log'], error: Error & { code?: string }, socket: Duplex) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode =
    error.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'bad_request';
  const message = {
    headers_too_large: 'the request line and headers together exceed 16 KB',
    request_timeout: 'the request did not arrive in time',
    bad_request: 'the request is not well-formed HTTP',
  }[code as 'headers_too_large' | 'request_timeout' | 'bad_request'];
  const requestId = randomUUID();
  log.debug({ requestId, code: error.code }, `client error: ${message}`);
  if (socket.writable) {
    const status = errorCatalogue[code];
    const body = JSON.stringify({ error: { code, message, request_id: requestId } });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Fastify's trustProxy for a hop count: the peer and the hops after it up to that count are proxies. */
function trustHops(count: number) {
  return (_address: string, hop: number) => hop < count;
}

const fastifyCodes: Record<string, keyof typeof errorCatalogue> = {
  FST_ERR_BAD_URL: 'bad_request',
  FST_ERR_MAX_PARAM_LENGTH: 'uri_too_long',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
};

/** Fastify's own messages for these quote the whole URL back; ours say what is wrong. */
const fastifyMessages: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL is not valid: a percent-encoded sequence does not decode to UTF-8 text',
  FST_ERR_MAX_PARAM_LENGTH: 'a path segment is longer than any id of ours (100 characters)',
};

function toErrorBody(error: FastifyError | AppError, requestId: string): ErrorBody {
  if (error instanceof AppError) {
    return { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}), request_id: requestId };
  }
  if (error.validation && error.validation.length > 0) {
    const first = error.validation[0];
    const params = first.params as { missingProperty?: string; allowedValues?: unknown[] };
    const field = params.missingProperty ?? first.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const where = error.validationContext === 'querystring' ? 'query' : error.validationContext;
    let message = params.missingProperty ? `${field} is required` : `${field || where} ${first.message}`;
    if (params.allowedValues) message += `: ${params.allowedValues.join(', ')}`;
    return { code: 'validation_failed', message, ...(field ? { field } : {}), request_id: requestId };
  }
  const code = (error.code && fastifyCodes[error.code]) || (error.statusCode === 429 ? 'rate_limited' : undefined);
  if (code) return { code, message: fastifyMessages[error.code] ?? error.message, request_id: requestId };
  if (error.statusCode && error.statusCode < 500) {
    const byStatus = Object.entries(errorCatalogue).find(([, s]) => s === error.statusCode)?.[0] as keyof typeof errorCatalogue | undefined;
    return { code: byStatus ?? 'bad_request', message: error.message, request_id: requestId };
  }
  return { code: 'internal_error', message: 'something went wrong on our side; quote the request_id if you contact us', request_id: requestId };
}

function statusOf(error: FastifyError, code: keyof typeof errorCatalogue): number {
  if (error.validation) return 400;
  return errorCatalogue[code] ?? 500;
}
