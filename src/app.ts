import { randomUUID } from 'node:crypto';
import querystring from 'node:querystring';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import { accountRoutes } from './accounts/routes.js';
import { groupRoutes } from './groups/routes.js';
import { AppError, type ErrorBody, errorCatalogue } from './platform/errors.js';
import { ErrorEnvelope } from './platform/http.js';
import { idempotency } from './platform/idempotency.js';
import { requirePartner } from './platform/auth.js';
import { ping } from './platform/db/index.js';
import { registerSecurityHeaders } from './platform/security-headers.js';
import { serveAssets } from './platform/web.js';
import type { Services } from './services.js';
import { recordingFileRoutes, recordingRoutes } from './recordings/routes.js';
import { talkPageRoutes, talkRoutes } from './talks/routes.js';
import { themeRoutes } from './themes/routes.js';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

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
    ajv: { customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });

  await registerSecurityHeaders(app, config);
  await app.register(cookie, { secret: config.SECRET_KEY });
  await app.register(formbody);
  // Partners' clients send form bodies under a JSON content type (the doc's own PUT/DELETE
  // examples do): parse JSON, and fall back to form decoding when the body is plainly a form.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, {});
    try {
      return done(null, JSON.parse(text));
    } catch {
      if (/^[^{["\s][^=\s]*=/.test(text)) return done(null, querystring.parse(text));
      return done(new AppError('bad_request', 'the body is not valid JSON'), undefined);
    }
  });
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
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

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const body = toErrorBody(error, request.id);
    const status = error instanceof AppError ? error.status : statusOf(error, body.code);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.code, field: body.field }, body.message);
    if (error instanceof AppError) reply.headers(error.headers);
    return reply.code(status).send({ error: body });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, request_id: request.id } });
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const ok = await ping(services.db.db);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'database unreachable' });
  });

  await serveAssets(app);
  await accountRoutes(app, services);
  await talkPageRoutes(app, services);
  await recordingFileRoutes(app, services);

  // Everything a partner calls with an API token: one scope, one auth hook, one rate limit.
  // Shared counters across nodes (scaled mode); closed with the app.
  const rateLimitRedis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
  if (rateLimitRedis) app.addHook('onClose', async () => void (await rateLimitRedis.quit()));
  await app.register(async (partnerApi) => {
    const auth = requirePartner(services.accounts);
    partnerApi.addHook('onRequest', auth);
    await partnerApi.register(rateLimit, {
      global: true,
      hook: 'preHandler',
      max: config.RATE_LIMIT_PER_MINUTE,
      timeWindow: 60_000,
      redis: rateLimitRedis,
      nameSpace: 'smalltalk-rl:',
      keyGenerator: (request) => request.partner?.tokenId ?? `${request.partner?.partnerId}:${request.sessionUser?.userId}`,
      errorResponseBuilder: (_request, context) =>
        new AppError('rate_limited', `rate limit of ${context.max} requests a minute reached; retry in ${Math.ceil(context.ttl / 1000)} s`, undefined, {
          'retry-after': String(Math.ceil(context.ttl / 1000)),
        }),
    });
    const idem = idempotency(services.db.db);
    partnerApi.addHook('preHandler', idem.preHandler);
    partnerApi.addHook('onSend', idem.onSend);
    await talkRoutes(partnerApi as App, services);
    await groupRoutes(partnerApi as App, services);
    await themeRoutes(partnerApi as App, services);
    await recordingRoutes(partnerApi as App, services);
    for (const extra of services.partnerRouteExtensions) await extra(partnerApi as App, services);
  });
  for (const extra of services.publicRouteExtensions) await extra(app, services);

  return app;
}

function trustHops(count: number) {
  return (_address: string, hop: number) => hop < count;
}

const fastifyCodes: Record<string, keyof typeof errorCatalogue> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
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
  if (code) return { code, message: error.message, request_id: requestId };
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
