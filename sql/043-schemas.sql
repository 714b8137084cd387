-- Vector tables in temp and ATTACHed schemas.
.load ./target/release/libveclite
ATTACH 'other.db' AS aux;
CREATE VIRTUAL TABLE aux.docs USING veclite(embedding float[2], tag text);
CREATE VIRTUAL TABLE temp.scratch USING veclite(embedding float[2]);
INSERT INTO aux.docs(rowid, embedding, tag) VALUES (1, '[0,0]', 'a'), (2, '[3,4]', 'b');
INSERT INTO scratch(rowid, embedding) VALUES (7, '[1,1]');
SELECT name FROM aux.sqlite_schema ORDER BY name;
SELECT name FROM temp.sqlite_schema ORDER BY name;
SELECT rowid, distance FROM aux.docs WHERE knn_match(embedding, '[3,3]') AND k = 1 AND tag = 'b';
SELECT rowid, distance FROM scratch('[1,1]', 1);
SELECT json_extract(veclite_info('aux.docs'), '$.schema', '$.rows'), json_extract(veclite_info('docs'), '$.schema'), json_extract(veclite_info('scratch'), '$.schema');
ALTER TABLE aux.docs RENAME TO docs2;
SELECT name FROM aux.sqlite_schema ORDER BY name;
DETACH aux;
ATTACH 'other.db' AS aux2;
SELECT rowid FROM aux2.docs2 WHERE knn_match(embedding, '[0,0]') AND k = 1;
SELECT veclite_info('nosuch');
CREATE TABLE plain(x);
SELECT veclite_info('plain');
