import { type Kysely, sql } from 'kysely';

/** Webhooks: endpoints, the event outbox, one delivery per (event, endpoint), every attempt. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table webhook_endpoints (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      url text not null,
      events text[] not null,
      enabled boolean not null default true,
      description text,
      secrets jsonb not null default '[]'::jsonb,
      disabled_reason text,
      disabled_at timestamptz,
      failing_since timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index webhook_endpoints_partner on webhook_endpoints (partner_id, created_at, id);

    create table webhook_events (
      id uuid primary key,
      partner_id uuid not null references partners(id) on delete cascade,
      event_name text not null,
      payload text not null,
      created_at timestamptz not null
    );
    create index webhook_events_partner_created on webhook_events (partner_id, created_at, id);

    create table webhook_deliveries (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      endpoint_id uuid not null references webhook_endpoints(id) on delete cascade,
      event_id uuid not null references webhook_events(id) on delete cascade,
      event_name text not null,
      status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
      generation integer not null default 0,
      cycle_attempts integer not null default 0,
      attempt_count integer not null default 0,
      next_attempt_at timestamptz,
      last_error text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (endpoint_id, event_id)
    );
    create index webhook_deliveries_endpoint on webhook_deliveries (endpoint_id, created_at desc, id desc);

    create table webhook_attempts (
      id bigserial primary key,
      delivery_id uuid not null references webhook_deliveries(id) on delete cascade,
      attempted_at timestamptz not null,
      status_code integer,
      latency_ms integer not null,
      response_body text,
      error text
    );
    create index webhook_attempts_delivery on webhook_attempts (delivery_id, id);

    create table webhook_talk_sequences (
      talk_id text primary key,
      seq bigint not null
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table webhook_talk_sequences;
    drop table webhook_attempts;
    drop table webhook_deliveries;
    drop table webhook_events;
    drop table webhook_endpoints;
  `.execute(db);
}
