// One node of a scaled deployment in its own process, for node-death.test.ts to SIGKILL (and
// bench:two-nodes to run its nodes as a deployment does).
// Usage: node --import tsx node-child.ts <schema> <dataDir> <env as JSON> [partner name].
// Prints {"url": …, "partner": …} once listening (partner: a new partner's id and token when named, else null).
import { createPartner, startApp } from '../support/app.js';

const [schema, dataDir, env, partnerName] = process.argv.slice(2);
const t = await startApp({ db: 'postgres', schema, dataDir, env: JSON.parse(env) });
const partner = partnerName ? await createPartner(t, partnerName) : null;
process.stdout.write(`${JSON.stringify({ url: t.url, partner })}\n`);
process.once('SIGTERM', () => void t.close().then(() => process.exit(0)));
