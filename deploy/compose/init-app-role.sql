-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d), as the owner
-- `podium`. It creates the least-privilege role the api/worker/watcher connect as; migration 0003 then
-- grants it DML on every table but only INSERT/SELECT on audit_events. The password is for the
-- single-host dev stack only, like the owner's.
CREATE ROLE podium_app LOGIN PASSWORD 'podium_app';
