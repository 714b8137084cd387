import sqlite_utils

import sqlite_veclite
from sqlite_veclite import serialize_float32

db = sqlite_utils.Database("docs.db")
sqlite_veclite.load(db.conn)
db.execute("""CREATE VIRTUAL TABLE IF NOT EXISTS docs USING veclite(
                embedding float[3], category text, year integer, distance = cosine)""")
db["docs"].insert_all(
    [
        {"rowid": 1, "embedding": serialize_float32([0.1, 0.9, 0.0]), "category": "news", "year": 2021},
        {"rowid": 2, "embedding": serialize_float32([0.8, 0.1, 0.1]), "category": "blog", "year": 2019},
        {"rowid": 3, "embedding": serialize_float32([0.2, 0.7, 0.1]), "category": "news", "year": 2018},
    ],
    replace=True,  # INSERT OR REPLACE
)
for row in db.query(
    "SELECT rowid, category, round(distance, 4) AS distance FROM docs"
    " WHERE knn_match(embedding, :q) AND k = 2",
    {"q": serialize_float32([0.0, 1.0, 0.0])},
):
    print(row)
