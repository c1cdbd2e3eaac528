-- Quality gates: what every Great Expectations validation found, and which build BI sees.
-- Runs after init.sql (roles and schemas exist); every statement is idempotent.

create schema if not exists quality;

-- quality.validation_runs: one row per gate run (one checkpoint run on one layer).
create table if not exists quality.validation_runs (
    validation_run_id uuid primary key,
    -- the pipeline run the gate belongs to (Airflow run id, or the CLI's manual__... id)
    run_id text not null,
    layer text not null check (layer in ('raw', 'marts')),
    checkpoint_name text not null,
    -- marts: the build schema validated; raw: null
    build_schema text,
    -- raw: the data interval validated; marts: null
    interval_start timestamptz,
    interval_end timestamptz,
    success boolean not null,
    evaluated_expectations integer not null check (evaluated_expectations >= 0),
    successful_expectations integer not null check (successful_expectations >= 0),
    started_at timestamptz not null,
    finished_at timestamptz not null,
    -- the Data Docs page of this run, relative to the Great Expectations project folder
    data_docs_page text,
    great_expectations_version text not null
);
create index if not exists validation_runs_run_id_idx on quality.validation_runs (run_id);
create index if not exists validation_runs_build_idx
    on quality.validation_runs (build_schema, finished_at desc);

-- quality.validation_results: one row per expectation evaluated in a gate run.
create table if not exists quality.validation_results (
    validation_result_id bigint generated always as identity primary key,
    validation_run_id uuid not null references quality.validation_runs on delete cascade,
    run_id text not null,
    layer text not null,
    suite text not null,
    data_asset text not null,
    -- the expectation type, e.g. expect_column_values_to_be_unique
    expectation text not null,
    -- the column(s) it looks at, for reading results without parsing kwargs
    column_name text,
    -- the rule in words, as the suite states it
    rule text,
    kwargs jsonb not null,
    success boolean not null,
    -- what was seen: the metric (row count, max, ...) or, for row-by-row checks, counts and
    -- a few offending values
    observed_value jsonb,
    unexpected_count bigint,
    element_count bigint,
    exception_message text,
    validated_at timestamptz not null default now()
);
create index if not exists validation_results_run_idx
    on quality.validation_results (validation_run_id);
create index if not exists validation_results_failed_idx
    on quality.validation_results (run_id) where not success;

-- quality.promotions: every switch of the BI-facing `marts` views to a validated build.
create table if not exists quality.promotions (
    promotion_id bigint generated always as identity primary key,
    run_id text not null,
    build_schema text not null,
    previous_build_schema text,
    validation_run_id uuid not null references quality.validation_runs,
    views text[] not null,
    promoted_at timestamptz not null default now()
);
create index if not exists promotions_promoted_at_idx on quality.promotions (promoted_at desc);

-- privileges ------------------------------------------------------------------------------------
-- pulse_transform runs the gates and the promote step: it records results and promotions.
-- Nobody else reads quality (pulse_bi sees marts only).
revoke all on schema quality from public;
grant usage on schema quality to pulse_transform;
grant select, insert on quality.validation_runs, quality.validation_results, quality.promotions
    to pulse_transform;
