-- Per-brand access: row-level security on the marts views. Runs after quality.sql (the table
-- lives in schema quality, which no BI role can read) and before owner.sql (which grants the
-- owner role its rights on every quality table, this one included).
--
-- The marts are views owned by pulse_owner onto a validated build (pulse/publishing/promote.py).
-- Each view filters its rows by brand_id: a reader that is a member of pulse_bi sees every
-- brand (the operator's view); any other reader sees the rows of the brands this table grants
-- to a role it is a member of, and nothing else. PostgreSQL's table policies cannot do this
-- here: a view reads its tables with its owner's rights, so a policy on the build tables would
-- see pulse_owner, never the reader, while current_user in the view's own filter is the reader.
-- The views are security barriers, so a reader's own functions in a WHERE clause never see a
-- row before the brand filter has run.

-- pulse_brand_bi: the group every per-brand role joins (`pulse bi grant`): it may read the
-- views of marts, which show it only its brands' rows. NOLOGIN: nobody connects as the group.
do $$
begin
    if not exists (select from pg_roles where rolname = 'pulse_brand_bi') then
        create role pulse_brand_bi nologin;
    end if;
end
$$;
grant usage on schema marts to pulse_brand_bi;
grant select on all tables in schema marts to pulse_brand_bi;

-- quality.brand_access: which role may see which brand (one row per role and brand; an agency's
-- role may hold several brands). Written by `pulse bi grant` and `pulse bi revoke` only.
create table if not exists quality.brand_access (
    role_name text not null,
    brand_id text not null,
    granted_at timestamptz not null default now(),
    granted_by text not null default current_user,
    primary key (role_name, brand_id)
);
