-- Run once, by the mysql image's entrypoint, when the data volume is first initialised
-- (after it has created the user 'dcp'@'%' from MYSQL_USER / MYSQL_PASSWORD).
-- Every DCP service owns a database named dcp_<service> and creates it at start-up
-- (database.create_database = true), so 'dcp' gets everything on databases matching
-- dcp\_% (the underscore escaped: a literal "_", not a one-character wildcard).
GRANT ALL PRIVILEGES ON `dcp\_%`.* TO 'dcp'@'%';
