DROP TABLE instances;
DROP TABLE hosts;
DROP TABLE images;
DROP TABLE sessions;
DROP TABLE users;
