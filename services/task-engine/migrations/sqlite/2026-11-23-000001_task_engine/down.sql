DROP TABLE te_catalog_lock;
DROP TABLE te_flow_logs;
DROP TABLE te_flow_nodes;
DROP TABLE te_flows;
DROP TABLE te_templates;
DROP TABLE te_remote_steps;
DROP TABLE te_action_impls;
DROP TABLE te_actions;
