import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Command, ConfigError, type Config, loadConfig } from './platform/config.js';
import { DataDirInUseError, migrate, openDatabase } from './platform/db/index.js';
import { type Services, closeServices, createCommandServices } from './compose.js';
import { botCommand, botUsage } from './bot/cli.js';
import { loadtestCommand } from './bot/loadtest.js';
import { webhookCommand, webhookUsage } from './webhooks/cli.js';

const usage = `smalltalk: self-hostable live talks

Usage:
  smalltalk serve                         run the server (embedded PGlite unless DATABASE_URL is set)
  smalltalk migrate                       apply database migrations and exit
  smalltalk partner create --name NAME --email EMAIL [--password P] [--json]
                                          create a user, a partner organization and an API token
  smalltalk token create --partner ID [--name NAME] [--json]
  smalltalk token list --partner ID [--json]
  smalltalk token revoke --partner ID --token TOKEN_ID
  smalltalk bot join <short_url|talk_id> [--token T] [--name N] [--play speech.wav] [--seconds S] [--json]
                                          join a talk as a real WebRTC participant and report what it heard
  smalltalk loadtest <short_url|join_url> --speakers K --listeners N --seconds S [--play speech.wav] [--server-pid PID]
                    [--light libwebrtc|datachannel] [--stream-url HLS_URL --stream-listeners M]

Configuration comes from the environment (see docs/configuration.md).
With the embedded database, commands other than serve need the server stopped (PGlite is one process).`;

/** Extra commands features add (webhook, bot, loadtest). */
export const commands: Record<string, Command<Services>> = { webhook: webhookCommand, bot: botCommand, loadtest: loadtestCommand };
const commandUsage: Record<string, string> = { webhook: webhookUsage, bot: botUsage };

/** The usage line of `command sub` (or of `command`), without its description. */
function usageLine(command: string | undefined, sub: string | undefined): string {
  const lines = `${usage}\n${commandUsage[command ?? ''] ?? ''}`
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/)[0])
    .filter((line) => line.startsWith('smalltalk '));
  const starts = (prefix: string) => lines.find((line) => line === prefix || line.startsWith(`${prefix} `));
  return (sub && starts(`smalltalk ${command} ${sub}`)) || starts(`smalltalk ${command}`) || 'smalltalk --help';
}

/** Node's parseArgs refusing the arguments (unknown option, unexpected positional, missing value). */
function isArgumentError(err: unknown): err is Error {
  return typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS_');
}

function print(json: boolean, value: unknown, text: string) {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

async function withServices<T>(config: Config, fn: (s: Services) => Promise<T>): Promise<T> {
  const services = await createCommandServices(config);
  try {
    return await fn(services);
  } finally {
    await closeServices(services);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  const config = () => loadConfig();
  try {
    switch (command) {
      case 'serve': {
        const { serve } = await import('./server.js');
        await serve(config());
        return -1; // keep running
      }
      case 'migrate': {
        const cfg = config();
        const db = await openDatabase(cfg);
        try {
          await db.prepare();
          const applied = await migrate(db.db, cfg.DATABASE_SCHEMA);
          console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
        } finally {
          await db.close();
        }
        return 0;
      }
      case 'partner': {
        if (sub !== 'create') break;
        const { values } = parseArgs({
          args: rest,
          options: { name: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' }, json: { type: 'boolean' } },
        });
        if (!values.name || !values.email) {
          console.error(`usage: ${usageLine(command, sub)}`);
          return 2;
        }
        const { newSecret } = await import('./accounts/credentials.js');
        const password = values.password ?? newSecret(12);
        return await withServices(config(), async (s) => {
          const user = await s.accounts.signUp({ email: values.email as string, password, name: values.name as string });
          const partner = await s.accounts.createPartner(user.id, values.name as string);
          const token = await s.accounts.createToken(partner.id, 'default', user.id);
          print(
            values.json ?? false,
            { user_id: user.id, partner_id: partner.id, api_token: token.token },
            `user:      ${user.id} (${user.email}${values.password ? '' : `, password: ${password}`})\npartner:   ${partner.id}\napi token: ${token.token}\n(store the token now: it is not shown again)`,
          );
          return 0;
        });
      }
      case 'token': {
        const { values } = parseArgs({
          args: rest,
          options: { partner: { type: 'string' }, name: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } },
        });
        if (!['create', 'list', 'revoke'].includes(sub ?? '') || !values.partner || (sub === 'revoke' && !values.token)) {
          console.error(`usage: ${usageLine(command, sub)}`);
          return 2;
        }
        const partnerId = values.partner;
        return await withServices(config(), async (s) => {
          if (!(await s.accounts.findPartner(partnerId).catch(() => undefined))) {
            console.error(`no partner ${partnerId}`);
            return 1;
          }
          if (sub === 'create') {
            const t = await s.accounts.createToken(partnerId, values.name ?? 'cli', null);
            print(
              values.json ?? false,
              { id: t.id, api_token: t.token, prefix: t.prefix },
              `${t.id}  ${t.token}\n(store the token now: it is not shown again)`,
            );
            return 0;
          }
          if (sub === 'list') {
            const rows = await s.accounts.listTokens(partnerId);
            print(
              values.json ?? false,
              rows,
              rows
                .map((t) => `${t.id}  ${t.prefix}…  ${t.name}  ${t.revoked_at ? 'revoked' : 'active'}  last used ${t.last_used_at?.toISOString() ?? 'never'}`)
                .join('\n') || 'no tokens',
            );
            return 0;
          }
          await s.accounts.revokeToken(partnerId, values.token as string);
          console.log(`revoked ${values.token}`);
          return 0;
        });
      }
      default: {
        const extra = command ? commands[command] : undefined;
        if (extra)
          return await extra(
            [sub, ...rest].filter((a) => a !== undefined),
            config,
            (work) => withServices(config(), work),
          );
      }
    }
    console.error(usage);
    return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  } catch (err) {
    if (isArgumentError(err)) {
      // One line on what is wrong (Node's first sentence) and one on what is right; no stack.
      console.error(`smalltalk ${[command, sub].filter(Boolean).join(' ')}: ${err.message.split(/\.\s/)[0].replace(/\.$/, '')}`);
      console.error(`usage: ${usageLine(command, sub)}`);
      return 2;
    }
    if (err instanceof ConfigError || err instanceof DataDirInUseError) {
      console.error(err.message);
      return 1;
    }
    if ((err as { code?: string }).code === 'conflict' || (err as { code?: string }).code === 'not_found') {
      console.error((err as Error).message);
      return 1;
    }
    throw err;
  }
}

// Run directly (`node --import tsx src/cli.ts …`, as the tests do) as well as through bin/smalltalk.js.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main(process.argv.slice(2));
  if (code >= 0) process.exit(code);
}
