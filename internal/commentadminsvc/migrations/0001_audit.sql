-- +goose Up
-- comment_admin_audit records every review action: who did what to which comment,
-- when (epoch ms), and the state before and after (api.md C; states as in
-- comment.thrift). Rows are only ever added.
CREATE TABLE comment_admin_audit (
    id         BIGINT   NOT NULL PRIMARY KEY,
    at         BIGINT   NOT NULL,
    admin      VARCHAR(64) NOT NULL,
    action     SMALLINT NOT NULL,
    comment_id BIGINT   NOT NULL,
    from_state SMALLINT NOT NULL,
    to_state   SMALLINT NOT NULL
);
CREATE INDEX comment_admin_audit_by_time ON comment_admin_audit (at, id);
CREATE INDEX comment_admin_audit_by_comment ON comment_admin_audit (comment_id, at);

-- +goose Down
DROP TABLE comment_admin_audit;
