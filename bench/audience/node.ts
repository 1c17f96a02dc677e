// One node of bench:two-nodes in a process of its own, as a deployment runs it (its own event loop,
// its own listen queue). Usage: node --import tsx node.ts <schema> <env as JSON> [partner name].
// Prints {"url", "partner"} once listening (partner: a new partner's id and token, when named);
// SIGTERM closes it.
import { createPartner, startApp } from '../../test/support/app.js';

const [schema, env, partnerName] = process.argv.slice(2);
const t = await startApp({ db: 'postgres', schema, env: JSON.parse(env) });
const partner = partnerName ? await createPartner(t, partnerName) : null;
process.stdout.write(`${JSON.stringify({ url: t.url, partner })}\n`);
process.once('SIGTERM', () => void t.close().then(() => process.exit(0)));
