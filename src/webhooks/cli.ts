import { parseArgs } from 'node:util';
import type { Command } from '../platform/config.js';
import type { Queue } from '../platform/queue.js';
import type { CreateWebhookInput } from './schemas.js';
import type { WebhooksService } from './service.js';

/** What the command needs of the app's services. */
interface WebhookCommandDeps {
  webhooks: WebhooksService;
  queue: Queue;
  queueNames: string[];
}

export const webhookUsage = `smalltalk webhook add --partner ID --url URL [--events talk_join,next_caption] [--description TEXT] [--json]
smalltalk webhook list --partner ID [--json]
smalltalk webhook rm --partner ID --id WEBHOOK_ID
smalltalk webhook test --partner ID --id WEBHOOK_ID [--json]`;

/** `smalltalk webhook add|list|rm|test`: the partner API's webhook management, for operators. */
export const webhookCommand: Command<WebhookCommandDeps> = async (args, _config, withServices) => {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      partner: { type: 'string' },
      url: { type: 'string' },
      events: { type: 'string' },
      description: { type: 'string' },
      id: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (!values.partner || !['add', 'list', 'rm', 'test'].includes(sub ?? '')) {
    console.error(webhookUsage);
    return 2;
  }
  const partnerId = values.partner;
  const out = (value: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(value)}\n` : `${text}\n`);
  return withServices(async (services) => {
    const { webhooks } = services;
    if (sub === 'add') {
      if (!values.url) {
        console.error(webhookUsage);
        return 2;
      }
      const hook = await webhooks.create(partnerId, {
        url: values.url,
        events: values.events?.split(',').map((e) => e.trim()) as CreateWebhookInput['events'],
        description: values.description ?? null,
      });
      out(hook, `${hook.id}  ${hook.url}  events: ${hook.events.join(',')}\nsigning secret: ${hook.secret}\n(store the secret now: it is not shown again)`);
      return 0;
    }
    if (sub === 'list') {
      const { items } = await webhooks.list(partnerId, { limit: 200 });
      out(
        items,
        items
          .map((h) => `${h.id}  ${h.enabled ? 'enabled ' : 'disabled'}  ${h.url}  ${h.events.join(',')}${h.disabled_reason ? `  (${h.disabled_reason})` : ''}`)
          .join('\n') || 'no webhooks',
      );
      return 0;
    }
    if (!values.id) {
      console.error(webhookUsage);
      return 2;
    }
    if (sub === 'rm') {
      const hook = await webhooks.delete(partnerId, values.id);
      out(hook, `removed ${hook.id}`);
      return 0;
    }
    // The ping's safety job goes to pg-boss, whose schema exists once the queue has started.
    await services.queue.start(services.queueNames);
    const delivery = await webhooks.test(partnerId, values.id);
    const attempt = delivery.attempts[0];
    out(delivery, `${delivery.status}: ${attempt?.status_code ?? attempt?.error ?? 'no attempt'} in ${attempt?.latency_ms ?? 0} ms`);
    return delivery.status === 'succeeded' ? 0 : 1;
  });
};
