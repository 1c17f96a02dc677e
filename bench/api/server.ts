// The server side of bench/api: the real app (PGlite or Postgres per env) plus one bare
// Fastify route as the baseline, in its own process so the load generator does not share its loop.
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/platform/config.js';
import { createServices, startBackground } from '../../src/compose.js';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '1000000000' });
const services = await createServices(config, { inMemory: config.dbKind === 'pglite' });
const app = await buildApp(services);
app.get('/__bare', { schema: { hide: true } }, async () => ({ ok: true }));
await app.listen({ port: config.PORT, host: '127.0.0.1' });
await startBackground(services);

const user = await services.accounts.signUp({ email: `bench-${Date.now()}@example.test`, password: 'bench password 123', name: 'Bench' });
const partner = await services.accounts.createPartner(user.id, 'Bench');
const token = await services.accounts.createToken(partner.id, 'bench', user.id);
for (let i = 0; i < 100; i++) await services.talks.create(partner.id, user.id, { name: `Talk ${i}`, description: 'A talk to list' });
process.stdout.write(`${JSON.stringify({ ready: true, token: token.token })}\n`);
process.on('SIGTERM', () => process.exit(0));
