DROP TABLE audit_log;
DROP TABLE dbs;
DROP TABLE instances;
DROP TABLE servers;
DROP TABLE businesses;
DROP TABLE owners;
