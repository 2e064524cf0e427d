DROP TABLE ci_changes;
DROP TABLE ci_change_seq;
