-- sqlite-vec's vec0 CREATE spellings: float32[N], distance_metric= on the vector
-- column, vec0's metadata type names, `partition key` (an indexed metadata column)
-- and `+name type` auxiliary columns (stored and returned, not filterable: SQLite
-- applies a WHERE on them, so answers stay right).
.open test.db
.load ./target/release/libveclite
CREATE VIRTUAL TABLE movies USING veclite(
  user_id integer partition key,
  embedding float32[3] distance_metric=cosine,
  genre text,
  num_reviews int,
  rating float,
  violent boolean,
  +title text,
  +poster blob
);
.print '== declared columns, shadow tables and their indexes (none on aux columns)'
SELECT name, type, hidden FROM pragma_table_xinfo('movies');
SELECT sql FROM sqlite_schema WHERE name LIKE 'movies_rows%' ORDER BY name;
SELECT json_extract(value, '$.metric'), json_extract(value, '$.columns') FROM movies_config WHERE key = 'config';
INSERT INTO movies(rowid, user_id, embedding, genre, num_reviews, rating, violent, title, poster) VALUES
  (1, 10, '[1, 0, 0]', 'drama', 5, 4.5, 0, 'Alpha', X'01'),
  (2, 10, '[0.9, 0.1, 0]', 'action', 50, 3.0, 1, 'Beta', NULL),
  (3, 20, '[0.8, 0.2, 0]', 'drama', 7, 4.0, 0, 'Gamma', X'0203'),
  (4, 20, '[0, 1, 0]', 'comedy', 1, 2.5, 0, 'Alpha', NULL),
  (5, 10, '[0.7, 0.3, 0.1]', 'drama', 9, 3.5, 1, 'Delta', NULL);
.print '== KNN returns aux columns; the partition key is taken by the search'
SELECT rowid, title, hex(poster), round(distance, 4) FROM movies
 WHERE embedding MATCH '[1, 0, 0]' AND k = 3 AND user_id = 10;
EXPLAIN QUERY PLAN SELECT rowid FROM movies WHERE embedding MATCH '[1, 0, 0]' AND k = 3 AND user_id = 10 AND genre = 'drama';
.print '== a WHERE on an aux column is applied by SQLite (not in the plan)'
EXPLAIN QUERY PLAN SELECT rowid FROM movies WHERE knn_match(embedding, '[1, 0, 0]') AND title = 'Alpha' ORDER BY distance LIMIT 2;
SELECT rowid, title FROM movies WHERE knn_match(embedding, '[1, 0, 0]') AND title = 'Alpha' ORDER BY distance LIMIT 2;
-- with k = N SQLite filters the k nearest: fewer rows, never a wrong one
SELECT rowid, title FROM movies WHERE knn_match(embedding, '[1, 0, 0]') AND k = 2 AND title = 'Alpha';
SELECT rowid FROM movies WHERE title = 'Alpha' ORDER BY rowid;
SELECT rowid FROM movies WHERE title > 'B' AND violent = 1 ORDER BY rowid;
.print '== aux columns update, survive a reopen and a rebuild'
UPDATE movies SET title = 'Beta II', poster = X'FF' WHERE rowid = 2;
.open test.db
.load ./target/release/libveclite
SELECT rowid, title, hex(poster), typeof(rating), violent FROM movies WHERE rowid = 2;
SELECT veclite_rebuild('movies'), veclite_check('movies');
SELECT rowid, title FROM movies WHERE embedding MATCH '[0, 1, 0]' AND k = 2;
.print '== the table-level spellings still work beside them'
CREATE VIRTUAL TABLE t2 USING veclite(v float[2], tag text, distance_metric = l2, m = 8);
SELECT json_extract(value, '$.metric'), json_extract(value, '$.m') FROM t2_config WHERE key = 'config';
.print '== errors'
CREATE VIRTUAL TABLE bad USING veclite(v float[2] distance_metric=cosine, distance = l2);
CREATE VIRTUAL TABLE bad USING veclite(v float[2] chunk_size=8);
CREATE VIRTUAL TABLE bad USING veclite(+v float[2]);
CREATE VIRTUAL TABLE bad USING veclite(v float[2], +t text partition key);
SELECT count(*) FROM sqlite_schema WHERE name LIKE 'bad%';
