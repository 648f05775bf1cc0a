DROP TABLE restore_checkpoints;
