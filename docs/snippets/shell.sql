.load veclite
CREATE VIRTUAL TABLE IF NOT EXISTS docs USING veclite(
  embedding float[3], category text, year integer, distance = cosine);
INSERT OR REPLACE INTO docs(rowid, embedding, category, year) VALUES
  (1, '[0.1, 0.9, 0.0]', 'news', 2021),
  (2, '[0.8, 0.1, 0.1]', 'blog', 2019),
  (3, '[0.2, 0.7, 0.1]', 'news', 2018);
SELECT rowid, category, round(distance, 4) FROM docs
 WHERE knn_match(embedding, '[0, 1, 0]') AND k = 2;
SELECT rowid FROM docs
 WHERE knn_match(embedding, '[0, 1, 0]') AND k = 2 AND category = 'news' AND year >= 2020;
