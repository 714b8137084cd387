-- Every bad CREATE fails with a message naming the problem, and creates nothing.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE t USING veclite();
CREATE VIRTUAL TABLE t USING veclite(a text);
CREATE VIRTUAL TABLE t USING veclite(a float[3], b float[3]);
CREATE VIRTUAL TABLE t USING veclite(a float[0]);
CREATE VIRTUAL TABLE t USING veclite(a float[8193]);
CREATE VIRTUAL TABLE t USING veclite(a float[x]);
CREATE VIRTUAL TABLE t USING veclite(a float);
CREATE VIRTUAL TABLE t USING veclite(a float[3], b text, B integer);
CREATE VIRTUAL TABLE t USING veclite(a float[3], distance text);
CREATE VIRTUAL TABLE t USING veclite(a float[3], k integer);
CREATE VIRTUAL TABLE t USING veclite(a float[3], ef integer);
CREATE VIRTUAL TABLE t USING veclite(a float[3], query text);
CREATE VIRTUAL TABLE t USING veclite(a float[3], rowid integer);
CREATE VIRTUAL TABLE t USING veclite(a float[3], oid integer);
CREATE VIRTUAL TABLE t USING veclite(a float[3], _rowid_ integer);
CREATE VIRTUAL TABLE t USING veclite(a float[3], b varchar);
CREATE VIRTUAL TABLE t USING veclite(a float[3], b);
CREATE VIRTUAL TABLE t USING veclite(a float[3], b text primary key);
CREATE VIRTUAL TABLE t USING veclite(a float[3], colour = red);
CREATE VIRTUAL TABLE t USING veclite(a float[3], distance = manhattan);
CREATE VIRTUAL TABLE t USING veclite(a float[3], m = 1);
CREATE VIRTUAL TABLE t USING veclite(a float[3], m = 16, m = 8);
CREATE VIRTUAL TABLE t USING veclite(a float[3], ef_search = 0);
CREATE VIRTUAL TABLE t USING veclite(a float[3], ef_construction = lots);
CREATE VIRTUAL TABLE t USING veclite(a float[3], b text collate nosuchcollation);
SELECT count(*) FROM sqlite_schema;
