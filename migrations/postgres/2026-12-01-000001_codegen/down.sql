DROP TABLE artifacts;
DROP TABLE jobs;
