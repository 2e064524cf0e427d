-- The trail of the service's writes (kit::audit): the verified actor, the service that
-- relayed them, the route and its parameters, the request id (issue #13).
CREATE TABLE dcp_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    target TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX dcp_audit_actor_at ON dcp_audit(actor, at);
CREATE INDEX dcp_audit_at ON dcp_audit(at);
