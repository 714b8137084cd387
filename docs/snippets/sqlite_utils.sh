ext=$(python3 -c 'import sqlite_veclite; print(sqlite_veclite.loadable_path())')
sqlite-utils query docs.db --load-extension "$ext" "CREATE VIRTUAL TABLE IF NOT EXISTS docs
  USING veclite(embedding float[3], category text, year integer, distance = cosine)"
sqlite-utils query docs.db --load-extension "$ext" "INSERT OR REPLACE INTO docs(rowid, embedding, category, year)
  VALUES (1, '[0.1, 0.9, 0.0]', 'news', 2021), (2, '[0.8, 0.1, 0.1]', 'blog', 2019), (3, '[0.2, 0.7, 0.1]', 'news', 2018)"
sqlite-utils query docs.db --load-extension "$ext" "SELECT rowid, category, round(distance, 4) AS distance
  FROM docs WHERE knn_match(embedding, :q) AND k = 2" -p q '[0, 1, 0]'
