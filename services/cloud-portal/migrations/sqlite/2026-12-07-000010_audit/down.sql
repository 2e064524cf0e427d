DROP TABLE dcp_audit;
