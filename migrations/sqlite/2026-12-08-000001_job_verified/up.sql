-- Verification of generated code (settings.codegen[].verify): whether the
-- language's toolchain checked a codegen job's files. NULL: not asked (or
-- not a codegen job); TRUE: checked and passed; FALSE: asked but not
-- checked (no toolchain) or checked and failed (the job then failed).
ALTER TABLE jobs ADD COLUMN verified BOOLEAN;
