DROP TABLE te_flow_keys;
