DELETE FROM ci_change_seq WHERE id = 2;
