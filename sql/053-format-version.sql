-- A table written by a newer veclite (format_read above ours) is refused clearly;
-- it can still be dropped.
.open t.db
.load ./target/release/libveclite
CREATE VIRTUAL TABLE t USING veclite(v float[1]);
INSERT INTO t(rowid, v) VALUES (1, '[1]');
UPDATE t_config SET value = 99 WHERE key = 'format_read';
.open t.db
.load ./target/release/libveclite
SELECT rowid FROM t WHERE knn_match(v, '[1]') AND k = 1;
INSERT INTO t(rowid, v) VALUES (2, '[2]');
DROP TABLE t;
SELECT count(*) FROM sqlite_schema;
