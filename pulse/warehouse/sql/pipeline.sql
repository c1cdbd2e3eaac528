-- The orchestrated pipeline's own records: runs, published alerts, dead-letter replays, erasures.
-- Runs after init.sql and quality.sql (roles and schemas exist); every statement is idempotent.
-- No table here carries a member_key: erasure records hold a digest of it only (see below).

create schema if not exists quality;

-- quality.pipeline_runs: one row per execution of a community_metrics run (a re-run of the same
-- Airflow run id is a new row with the next attempt number). Each step fills its columns and
-- its duration as it finishes; the last task sets status and finished_at.
create table if not exists quality.pipeline_runs (
    pipeline_run_id bigint generated always as identity primary key,
    dag_id text not null,
    run_id text not null,
    attempt integer not null check (attempt >= 1),
    interval_start timestamptz not null,
    interval_end timestamptz not null,
    status text not null default 'running' check (status in ('running', 'success', 'failed')),
    -- the first step that failed, and its one-line error
    failed_step text,
    error text,
    -- the build schema dbt built this run's marts into (null when the run stopped before dbt)
    build_schema text,
    -- row counts: events of the interval, all events, dead letters received during the interval
    raw_events_in_interval bigint,
    raw_events_total bigint,
    dead_letters_in_interval bigint,
    -- rows per mart of the build, e.g. {"fct_community_daily": 840, ...}
    mart_rows jsonb,
    raw_validation_run_id uuid,
    raw_gate_success boolean,
    raw_gate_summary text,
    marts_validation_run_id uuid,
    marts_gate_success boolean,
    marts_gate_summary text,
    promoted boolean not null default false,
    metrics_published integer,
    alerts_published integer,
    -- alerts the run found again whose alert_id had been published before (not sent again)
    alerts_already_published integer,
    -- seconds of work per step, as the steps measured it, e.g. {"raw_gate": 3.1, ...}
    step_seconds jsonb not null default '{}'::jsonb,
    -- seconds per Airflow task (queueing and task start-up included), from Airflow
    task_seconds jsonb not null default '{}'::jsonb,
    -- anything else worth keeping: freshness figures, dbt's slowest nodes, ...
    details jsonb not null default '{}'::jsonb,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    unique (dag_id, run_id, attempt)
);
create index if not exists pipeline_runs_interval_idx
    on quality.pipeline_runs (interval_start, interval_end);
create index if not exists pipeline_runs_started_idx on quality.pipeline_runs (started_at desc);

-- quality.published_alerts: every alert_id sent to community.alerts.v1, so a retried or re-run
-- interval finds the same alert (same deterministic id) and does not send it again.
create table if not exists quality.published_alerts (
    alert_id uuid primary key,
    alert_type text not null,
    community_id text not null,
    -- what the alert is about: the UTC day (YYYY-MM-DD) or the idea id
    subject text not null,
    severity text not null,
    run_id text not null,
    published_at timestamptz not null default now()
);

-- quality.published_incident_events: every community.incidents.v1 message sent (one per
-- incident and lifecycle event, message_id a UUIDv5 of both), so a retried or re-run interval
-- sends none twice; it also says which incidents a consumer was told are open, should the data
-- stop supporting one (it is then resolved as withdrawn).
create table if not exists quality.published_incident_events (
    message_id uuid primary key,
    incident_id uuid not null,
    event text not null check (event in ('opened', 'escalated', 'resolved')),
    alert_type text not null,
    community_id text not null,
    brand_id text,
    idea_id text,
    severity text not null,
    metric text not null,
    opened_at timestamptz not null,
    run_id text not null,
    published_at timestamptz not null default now()
);
create index if not exists published_incident_events_incident_idx
    on quality.published_incident_events (incident_id);

-- quality.dead_letter_replays: what each dead_letter_replay run did with each dead letter it
-- looked at. A re-injected dead letter is also marked in raw.dead_letter_events.replayed_at,
-- which is what keeps it from being replayed twice.
create table if not exists quality.dead_letter_replays (
    replay_id bigint generated always as identity primary key,
    run_id text not null,
    dead_letter_id bigint not null,
    source_topic text not null,
    source_partition integer not null,
    source_offset bigint not null,
    original_reason text not null,
    outcome text not null check (outcome in (
        'reinjected', 'still_invalid', 'not_in_dlq_topic', 'erased_member'
    )),
    -- for still_invalid: the reason the current contract gives
    current_reason text,
    current_detail text,
    target_topic text,
    target_partition integer,
    target_offset bigint,
    replayed_at timestamptz not null default now()
);
create index if not exists dead_letter_replays_letter_idx
    on quality.dead_letter_replays (dead_letter_id);

-- quality.erased_members: one row per erased member, identified only by the SHA-256 of the
-- member key (never the key itself), so events of the member that arrive after the erasure
-- (late deliveries) are recognised and erased by the next member_erasure run.
create table if not exists quality.erased_members (
    member_key_sha256 text primary key check (member_key_sha256 ~ '^[0-9a-f]{64}$'),
    first_erased_at timestamptz not null default now(),
    last_erased_at timestamptz not null default now()
);

-- quality.member_erasures: one row per member.erased request applied.
create table if not exists quality.member_erasures (
    erasure_event_id uuid primary key,
    member_key_sha256 text not null,
    community_id text not null,
    requested_at timestamptz not null,
    applied_at timestamptz not null default now(),
    run_id text not null
);

-- quality.erasure_runs: one row per member_erasure run: what it deleted, table by table.
create table if not exists quality.erasure_runs (
    erasure_run_id bigint generated always as identity primary key,
    run_id text not null,
    requests integer not null,
    members integer not null,
    late_arrivals integer not null,
    -- rows deleted per table, e.g. {"raw.community_events": 412, "staging.stg_pulse__posts": 18}
    rows_deleted jsonb not null,
    -- text/jsonb values in quality.* rewritten because they quoted an erased key
    values_redacted integer not null,
    started_at timestamptz not null,
    finished_at timestamptz not null
);

-- Incremental builds ---------------------------------------------------------------------------
-- What each run planned and built (docs/architecture.md, "Incremental runs"). Added with
-- `add column if not exists` so warehouses made before incremental runs get them.
alter table quality.pipeline_runs
    -- full_refresh: asked for (`pulse run --full-refresh`, DAG param full_refresh)
    add column if not exists full_refresh_requested boolean not null default false,
    -- 'full' or 'incremental', and why a full build was chosen when it was
    add column if not exists build_mode text,
    add column if not exists build_mode_reason text,
    -- the validated build whose marts an incremental build starts from
    add column if not exists base_build text,
    -- the arrival window: raw rows with arrived_from <= ingested_at < arrived_through (no
    -- lower bound in a first build); the raw gate validates exactly these rows, dbt reads them
    add column if not exists arrived_from timestamptz,
    add column if not exists arrived_through timestamptz,
    add column if not exists raw_events_arrived bigint,
    -- raw.community_event_deletions up to this id are reflected in the build
    add column if not exists deletions_through bigint;

-- quality.build_watermarks: one row per build dbt completed, written after `dbt build`
-- succeeded (never before): what of raw its marts reflect. The next run reads the row of the
-- build `marts` shows (the last promotion), so a build that failed its gate, or a run that died,
-- never moves the point the next run starts from.
create table if not exists quality.build_watermarks (
    build_schema text primary key,
    run_id text not null,
    build_mode text not null check (build_mode in ('full', 'incremental')),
    base_build text,
    -- every raw row with ingested_at < arrived_through is reflected
    arrived_through timestamptz not null,
    arrived_from timestamptz,
    -- every raw.community_event_deletions row up to this id is reflected
    deletions_through bigint not null,
    -- sha256 of the dbt project's models and macros: a build of other SQL is no base
    dbt_fingerprint text not null,
    built_at timestamptz not null default now()
);

-- privileges ------------------------------------------------------------------------------------
-- pulse_transform runs community_metrics (record runs, publish alerts). Replays and erasures
-- touch raw and need the warehouse's admin connection; nobody else reads quality.
revoke all on schema quality from public;
grant usage on schema quality to pulse_transform;
grant select, insert, update on quality.pipeline_runs to pulse_transform;
grant select, insert, update, delete on quality.build_watermarks to pulse_transform;
grant select, insert on quality.published_alerts to pulse_transform;
grant select, insert on quality.published_incident_events to pulse_transform;
grant select on quality.dead_letter_replays, quality.member_erasures, quality.erasure_runs
    to pulse_transform;

-- Erasure without a platform covers the member under every platform: the requests' member_ref
-- (an HMAC of the member id alone) is what finds their keys, and its digest what catches their
-- events arriving later from any platform. Each request also records how many rows it matched,
-- so one that matched nothing (a wrong id, another key) is seen, not silently "done".
create table if not exists quality.erased_member_refs (
    member_ref_sha256 text primary key,
    first_erased_at timestamptz not null default now(),
    last_erased_at timestamptz not null default now()
);
alter table quality.member_erasures add column if not exists matched_rows integer;
