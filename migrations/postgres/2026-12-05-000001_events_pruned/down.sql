DROP TABLE events_pruned;
