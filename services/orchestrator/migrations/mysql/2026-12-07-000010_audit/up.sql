-- The trail of the service's writes (kit::audit): the verified actor, the service that
-- relayed them, the route and its parameters, the request id (issue #13).
CREATE TABLE dcp_audit (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at DATETIME NOT NULL,
    actor VARCHAR(255) NOT NULL,
    via VARCHAR(255) NULL,
    action VARCHAR(255) NOT NULL,
    entity VARCHAR(64) NOT NULL,
    target VARCHAR(1024) NOT NULL,
    request_id VARCHAR(255) NOT NULL,
    INDEX dcp_audit_actor_at (actor, at),
    INDEX dcp_audit_at (at)
);
