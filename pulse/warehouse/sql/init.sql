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
    -- The one role that may change what BI sees: it owns schema marts and its views. It reads
    -- the builds through pulse_transform, which owns them; transform cannot touch marts.
    if not exists (select from pg_roles where rolname = 'pulse_owner') then
        create role pulse_owner login;
    end if;
end
$$;
grant pulse_transform to pulse_owner;

-- schemas --------------------------------------------------------------------------------------
create schema if not exists raw;
create schema if not exists quality;
create schema if not exists marts;

-- raw.community_events: one row per valid event, stored once per event_id.
-- member_id never lands here (member_key is its HMAC with the platform, member_ref its HMAC
-- without one, under a sub-key); free text never lands here (only its length and the sentiment
-- computed from it).
create table if not exists raw.community_events (
    event_id uuid primary key,
    event_type text not null,
    schema_version smallint not null,
    occurred_at timestamptz not null,
    community_id text not null,
    member_key text,
    member_ref text,
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
-- Warehouses from before member_ref get the column (their older rows have none).
alter table raw.community_events add column if not exists member_ref text;
create index if not exists community_events_member_ref_idx
    on raw.community_events (member_ref);

-- raw.dead_letter_events: one row per rejected message, once per source position, where a
-- position is (topic, partition, epoch, offset): the epoch goes up when a partition's offsets
-- start over (the topic was recreated), so a new incarnation's dead letters are not dropped.
-- The value is kept only as a redacted JSON object (the contract's fields only; member_id ->
-- member_key, free text -> its length) and a digest; the Kafka key only when it is the record's
-- community id, else its HMAC. The original bytes live in the DLQ topic, under a short
-- retention; dlq_published is false when the DLQ topic refused them for good.
create table if not exists raw.dead_letter_events (
    dead_letter_id bigint generated always as identity primary key,
    source_topic text not null,
    source_partition integer not null,
    source_offset bigint not null,
    reason text not null,
    detail text not null,
    event_id text,
    event_type text,
    member_key text,
    message_key bytea,
    redacted_value jsonb,
    value_bytes integer not null,
    value_sha256 text not null,
    received_at timestamptz not null default now(),
    replayed_at timestamptz
);
alter table raw.dead_letter_events
    add column if not exists source_epoch integer not null default 0,
    add column if not exists source_offset_last bigint,
    add column if not exists member_ref text,
    add column if not exists message_key_hmac text,
    add column if not exists dlq_published boolean not null default true,
    add column if not exists dlq_error text;
-- The reasons are streaming.decode.REASONS (a test compares them). Dropped and added again on
-- every init, so a warehouse made before a new reason accepts it; the same definition each time.
alter table raw.dead_letter_events drop constraint if exists dead_letter_events_reason_check;
alter table raw.dead_letter_events add constraint dead_letter_events_reason_check check (reason in (
    'invalid_json', 'invalid_utf8', 'oversized', 'schema_violation', 'unknown_event_type',
    'future_timestamp', 'undecodable_record'
));
do $$
begin
    -- Before epochs the position was (topic, partition, offset).
    if not exists (select from pg_constraint
                   where conrelid = 'raw.dead_letter_events'::regclass
                     and conname = 'dead_letter_events_source_position_key') then
        alter table raw.dead_letter_events drop constraint if exists
            dead_letter_events_source_topic_source_partition_source_off_key;
        alter table raw.dead_letter_events add constraint dead_letter_events_source_position_key
            unique (source_topic, source_partition, source_epoch, source_offset);
    end if;
    if not exists (select from pg_constraint
                   where conrelid = 'raw.dead_letter_events'::regclass
                     and conname = 'dead_letter_events_offset_range_check') then
        alter table raw.dead_letter_events add constraint dead_letter_events_offset_range_check
            check (source_offset_last is null or source_offset_last >= source_offset);
    end if;
end
$$;
create index if not exists dead_letter_events_reason_idx on raw.dead_letter_events (reason);
create index if not exists dead_letter_events_member_key_idx
    on raw.dead_letter_events (member_key) where member_key is not null;
create index if not exists dead_letter_events_member_ref_idx
    on raw.dead_letter_events (member_ref) where member_ref is not null;

-- raw.consumer_offsets: the next offset to read per partition, written in the same transaction
-- as the rows it covers. This, not Kafka's committed offset, is where the consumer resumes.
-- epoch counts the times the partition's offsets started over (raw.ingest_gaps); topic_id is
-- the broker's id of the topic incarnation the offset belongs to (null: the broker gives none).
create table if not exists raw.consumer_offsets (
    consumer_group text not null,
    topic text not null,
    partition integer not null,
    next_offset bigint not null check (next_offset >= 0),
    updated_at timestamptz not null default now(),
    primary key (consumer_group, topic, partition)
);
alter table raw.consumer_offsets
    add column if not exists epoch integer not null default 0,
    add column if not exists topic_id text;

-- raw.ingest_gaps: a stored offset the partition no longer had (streaming/gaps.py): the topic
-- was recreated, the offset is past the partition's end, or retention removed unread messages.
-- Messages produced between lost_from (the last time ingest stored from the partition) and
-- detected_at may be missing; an unresolved gap fails the freshness of the intervals it touches.
create table if not exists raw.ingest_gaps (
    gap_id bigint generated always as identity primary key,
    consumer_group text not null,
    topic text not null,
    partition integer not null,
    stored_offset bigint not null,
    log_start_offset bigint,
    log_end_offset bigint,
    resume_offset bigint not null,
    cause text not null check (cause in ('topic_recreated', 'beyond_end', 'before_start')),
    epoch_before integer not null,
    epoch_after integer not null,
    topic_id_before text,
    topic_id_after text,
    lost_from timestamptz,
    detected_at timestamptz not null default now(),
    resolved_at timestamptz,
    resolution text
);
create index if not exists ingest_gaps_unresolved_idx
    on raw.ingest_gaps (topic, detected_at) where resolved_at is null;

-- raw.pseudonym_key: the fingerprint (HMAC(key, 'pulse key fingerprint'), never the key) of the
-- key the member keys are made with. One active row; rotation retires it (docs/runbook.md).
create table if not exists raw.pseudonym_key (
    fingerprint text primary key,
    recorded_at timestamptz not null default now(),
    recorded_by text not null default current_user,
    retired_at timestamptz
);
create unique index if not exists pseudonym_key_active_idx
    on raw.pseudonym_key ((true)) where retired_at is null;

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
grant select, insert on raw.community_events, raw.dead_letter_events, raw.ingest_batches,
    raw.ingest_gaps, raw.pseudonym_key to pulse_ingest;
grant select, insert, update on raw.consumer_offsets to pulse_ingest;
grant update (replayed_at) on raw.dead_letter_events to pulse_ingest;
grant update (resolved_at, resolution) on raw.ingest_gaps to pulse_ingest;

-- pulse_transform: reads raw, builds the dbt schemas, writes quality results.
grant usage on schema raw to pulse_transform;
grant select on all tables in schema raw to pulse_transform;
grant usage, create on schema quality to pulse_transform;

-- pulse_owner: owns schema marts (only it can create, replace or drop the BI views there) and
-- applies erasures, which delete from every schema.
alter schema marts owner to pulse_owner;
revoke create on schema marts from pulse_transform;
do $$
declare
    view_name text;
begin
    -- Views made by an earlier promote (before the owner role existed) change hands once.
    for view_name in
        select format('%I.%I', schemaname, viewname) from pg_views
        where schemaname = 'marts' and viewowner <> 'pulse_owner'
    loop
        execute format('alter view %s owner to pulse_owner', view_name);
    end loop;
end
$$;

-- pulse_bi: reads marts only.
revoke all on schema quality from public;
revoke all on schema marts from public;
grant usage on schema marts to pulse_bi;
grant select on all tables in schema marts to pulse_bi;

-- Nothing the pipeline's roles create later is readable by PUBLIC unless granted: tables and
-- schemas already are not; functions and types are by PostgreSQL's default, so revoke that.
alter default privileges for role pulse_transform revoke execute on functions from public;
alter default privileges for role pulse_transform revoke usage on types from public;
alter default privileges for role pulse_owner revoke execute on functions from public;
alter default privileges for role pulse_owner revoke usage on types from public;

-- =============================================================================================
-- Incremental runs (added for the "Scale" work; kept as a block of its own so the ingest
-- schema above can change independently). Everything here is idempotent and only adds.
-- =============================================================================================

-- An hourly run reads raw by arrival (the ingested_at index above) and erasure requests by
-- type; without this partial index, finding the pending member.erased events scans all of raw.
create index if not exists community_events_erasure_requests_idx
    on raw.community_events (member_key) where event_type = 'member.erased';
-- The raw gate's dead-letter share counts what was received during the interval.
create index if not exists dead_letter_events_received_at_idx
    on raw.dead_letter_events (received_at);

-- raw.community_event_deletions: what rows leaving raw.community_events changed, without saying
-- whose. Member erasure deletes a member's raw rows after (or between) builds; raw then no longer
-- says which community-days, posts, comments and ideas the next incremental run must reopen, so
-- a trigger writes them here in the same transaction as the delete: one row per community-day
-- and per item (post, comment, idea) touched, distinct per statement, never a member key or an
-- event id. dbt reads it by deletion_id (stg_pulse__event_deletions).
create table if not exists raw.community_event_deletions (
    deletion_id bigint generated always as identity primary key,
    community_id text not null,
    occurred_on date not null,
    item_kind text check (item_kind in ('post', 'comment', 'idea')),
    item_id text,
    deleted_at timestamptz not null default now(),
    check ((item_kind is null) = (item_id is null))
);

-- Security definer: the log is written whoever deletes (erasure acts as pulse_owner), and only
-- this function writes it.
create or replace function raw.log_community_event_deletions() returns trigger
language plpgsql security definer set search_path = pg_catalog, raw as $$
begin
    insert into raw.community_event_deletions (community_id, occurred_on, item_kind, item_id)
    select distinct
        gone.community_id,
        (gone.occurred_at at time zone 'UTC')::date,
        item.kind,
        item.id
    from deleted_events as gone
    cross join lateral (
        values
            (null::text, null::text),
            -- the thread the event was about: a post (or, on a portal, an idea)
            ('post', case
                when gone.event_type in ('post.created', 'comment.created', 'content.shared')
                    then gone.payload ->> 'post_id'
                when gone.event_type in ('reaction.added', 'reaction.removed')
                    and gone.payload ->> 'target_type' = 'post'
                    then gone.payload ->> 'target_id'
            end),
            ('comment', case
                when gone.event_type = 'comment.created' then gone.payload ->> 'comment_id'
                when gone.event_type in ('reaction.added', 'reaction.removed')
                    and gone.payload ->> 'target_type' = 'comment'
                    then gone.payload ->> 'target_id'
            end),
            ('idea', case
                when gone.event_type in (
                    'feedback.submitted', 'feedback.voted', 'feedback.status_changed'
                ) then gone.payload ->> 'idea_id'
                when gone.event_type = 'comment.created' then gone.payload ->> 'post_id'
            end)
    ) as item (kind, id)
    where item.kind is null or item.id is not null;
    return null;
end
$$;

create or replace trigger community_events_log_deletions
    after delete on raw.community_events
    referencing old table as deleted_events
    for each statement execute function raw.log_community_event_deletions();

grant select on raw.community_event_deletions to pulse_transform;
