-- Warehouse bootstrap: schemas, raw tables and least-privilege roles.
-- Every statement is idempotent: `pulse db init` may run any number of times.

-- roles ----------------------------------------------------------------------------------------
-- LOGIN so services and BI tools can connect as themselves; passwords are set from the
-- environment by `pulse db init`, never here.
do $$
begin
    if not exists (select from pg_roles where rolname = 'pulse_ingest') then
        create role pulse_ingest login;
    end if;
    if not exists (select from pg_roles where rolname = 'pulse_transform') then
        create role pulse_transform login;
    end if;
    if not exists (select from pg_roles where rolname = 'pulse_bi') then
        create role pulse_bi login;
    end if;
end
$$;

-- schemas --------------------------------------------------------------------------------------
create schema if not exists raw;
create schema if not exists quality;
create schema if not exists marts;

-- raw.community_events: one row per valid event, stored once per event_id.
-- member_id never lands here (member_key is its HMAC); free text never lands here (only its
-- length and the sentiment computed from it).
create table if not exists raw.community_events (
    event_id uuid primary key,
    event_type text not null,
    schema_version smallint not null,
    occurred_at timestamptz not null,
    community_id text not null,
    member_key text,
    platform text,
    payload jsonb not null,
    sentiment double precision,
    sentiment_source text check (sentiment_source in ('sent', 'vader')),
    text_length integer,
    source_topic text not null,
    source_partition integer not null,
    source_offset bigint not null,
    ingested_at timestamptz not null default now()
);
create index if not exists community_events_occurred_at_idx
    on raw.community_events (occurred_at);
create index if not exists community_events_ingested_at_idx
    on raw.community_events (ingested_at);
create index if not exists community_events_member_key_idx
    on raw.community_events (member_key);

-- raw.dead_letter_events: one row per rejected message, once per source position.
-- The value is kept only as a redacted JSON object (member_id -> member_key, free text removed)
-- and a digest; the original bytes live in the DLQ topic, under its own retention.
create table if not exists raw.dead_letter_events (
    dead_letter_id bigint generated always as identity primary key,
    source_topic text not null,
    source_partition integer not null,
    source_offset bigint not null,
    reason text not null check (reason in (
        'invalid_json', 'invalid_utf8', 'oversized', 'schema_violation',
        'unknown_event_type', 'future_timestamp'
    )),
    detail text not null,
    event_id text,
    event_type text,
    member_key text,
    message_key bytea,
    redacted_value jsonb,
    value_bytes integer not null,
    value_sha256 text not null,
    received_at timestamptz not null default now(),
    replayed_at timestamptz,
    unique (source_topic, source_partition, source_offset)
);
create index if not exists dead_letter_events_reason_idx on raw.dead_letter_events (reason);

-- raw.consumer_offsets: the next offset to read per partition, written in the same transaction
-- as the rows it covers. This, not Kafka's committed offset, is where the consumer resumes.
create table if not exists raw.consumer_offsets (
    consumer_group text not null,
    topic text not null,
    partition integer not null,
    next_offset bigint not null check (next_offset >= 0),
    updated_at timestamptz not null default now(),
    primary key (consumer_group, topic, partition)
);

-- raw.ingest_batches: what each committed batch did (for `pulse status` and run reports).
create table if not exists raw.ingest_batches (
    batch_id bigint generated always as identity primary key,
    consumer_group text not null,
    messages integer not null,
    inserted integer not null,
    duplicates integer not null,
    dead_letters integer not null,
    first_polled_at timestamptz not null,
    committed_at timestamptz not null default now()
);

-- privileges -----------------------------------------------------------------------------------
-- pulse_ingest: writes raw, owns nothing (so it cannot drop or alter), no access elsewhere.
revoke all on schema raw from public;
grant usage on schema raw to pulse_ingest;
grant select, insert on raw.community_events, raw.dead_letter_events, raw.ingest_batches
    to pulse_ingest;
grant select, insert, update on raw.consumer_offsets to pulse_ingest;
grant update (replayed_at) on raw.dead_letter_events to pulse_ingest;

-- pulse_transform: reads raw, builds the dbt schemas, writes quality results.
grant usage on schema raw to pulse_transform;
grant select on all tables in schema raw to pulse_transform;
grant usage, create on schema quality to pulse_transform;
grant usage, create on schema marts to pulse_transform;

-- pulse_bi: reads marts only.
revoke all on schema quality from public;
revoke all on schema marts from public;
grant usage on schema marts to pulse_bi;
grant select on all tables in schema marts to pulse_bi;
