-- The notes API's schema (examples/multi-tenant-oidc.ts checks its queries against it at synthesis).
CREATE TABLE notes (
  id BIGSERIAL PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  author TEXT NOT NULL,
  body TEXT NOT NULL
);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON notes
  USING (tenant_id = current_setting('request.jwt.claims', true)::json->>'tenant_id');
