DROP TABLE oc_marks;
