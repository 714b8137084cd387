curl -s -G http://127.0.0.1:8001/docs.json --data-urlencode _shape=array --data-urlencode \
  "sql=SELECT rowid, category, round(distance, 4) AS distance FROM docs WHERE knn_match(embedding, '[0, 1, 0]') AND k = 2"
