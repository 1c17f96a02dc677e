// One node of a scaled deployment in its own process, for node-death.test.ts to SIGKILL.
// Usage: node --import tsx node-child.ts <schema> <dataDir> <env as JSON>. Prints {"url": …} once listening.
import { startApp } from '../support/app.js';

const [schema, dataDir, env] = process.argv.slice(2);
const t = await startApp({ db: 'postgres', schema, dataDir, env: JSON.parse(env) });
process.stdout.write(`${JSON.stringify({ url: t.url })}\n`);
process.once('SIGTERM', () => void t.close().then(() => process.exit(0)));
