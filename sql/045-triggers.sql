-- A vector table can be written from a trigger and queried in a view.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], title text);
CREATE TABLE articles(id INTEGER PRIMARY KEY, title TEXT, emb TEXT);
CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
  INSERT INTO docs(rowid, embedding, title) VALUES (new.id, new.emb, new.title);
END;
CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
  DELETE FROM docs WHERE rowid = old.id;
END;
INSERT INTO articles VALUES (1, 'one', '[1,0]'), (2, 'two', '[0,1]'), (3, 'three', '[1,1]');
DELETE FROM articles WHERE id = 2;
CREATE VIEW nearest_origin AS SELECT rowid, title, distance FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 2;
SELECT * FROM nearest_origin;
