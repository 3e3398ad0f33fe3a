-- PostgreSQL bootstrap for the nurture stack (docker-compose.yml).
--
-- The postgres image runs this once, as the superuser, when the data volume is empty
-- (/docker-entrypoint-initdb.d). Later starts skip it: a change here needs a fresh volume
-- (`docker compose down -v`) or the same statements run by hand.
--
-- One role per application, each owning only its own databases:
--   temporal - the Temporal server's persistence (`temporal`) and SQL visibility
--              (`temporal_visibility`); their schemas are set up by the `temporal-schema` job.
--   nurture  - nurture's small store (`nurture`), see NURTURE_DATABASE_URL.
-- The passwords match docker-compose.yml; change both together outside a trial deployment.

CREATE ROLE temporal LOGIN PASSWORD 'temporal';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;

CREATE ROLE nurture LOGIN PASSWORD 'nurture';
CREATE DATABASE nurture OWNER nurture;

-- Temporal's SQL visibility schema (v1.2, advanced visibility) needs btree_gin. Create it here as
-- the superuser so the schema job, running as `temporal`, finds it already installed.
\connect temporal_visibility
CREATE EXTENSION IF NOT EXISTS btree_gin;
