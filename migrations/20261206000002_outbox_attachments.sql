-- A message may carry one file (the monthly incentive report's CSV for a chapter): sent as a
-- multipart/mixed e-mail by the outbox worker.
ALTER TABLE outbox
    ADD COLUMN attachment_name text,
    ADD COLUMN attachment_type text,
    ADD COLUMN attachment bytea,
    ADD CONSTRAINT outbox_attachment_whole CHECK (
        (attachment IS NULL) = (attachment_name IS NULL) AND (attachment IS NULL) = (attachment_type IS NULL));
