-- The owner role's grants on raw and quality, run after every table of them exists.
-- Erasure (which runs as pulse_owner) deletes the erased members' rows from every schema (what
-- raw's deletion log records as it goes), redacts quoted keys in the quality tables, and records
-- what it did.
grant usage on schema raw to pulse_owner;
grant select, insert, delete on all tables in schema raw to pulse_owner;
grant usage on schema quality to pulse_owner;
grant select, insert, update, delete on all tables in schema quality to pulse_owner;
