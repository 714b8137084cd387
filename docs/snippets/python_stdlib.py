import sqlite3

import sqlite_veclite
from sqlite_veclite import serialize_float32

conn = sqlite3.connect("docs.db")
sqlite_veclite.load(conn)
conn.execute("""CREATE VIRTUAL TABLE IF NOT EXISTS docs USING veclite(
                  embedding float[3], category text, year integer, distance = cosine)""")
with conn:  # one transaction
    conn.executemany(
        "INSERT OR REPLACE INTO docs(rowid, embedding, category, year) VALUES (?, ?, ?, ?)",
        [
            (1, serialize_float32([0.1, 0.9, 0.0]), "news", 2021),
            (2, serialize_float32([0.8, 0.1, 0.1]), "blog", 2019),
            (3, "[0.2, 0.7, 0.1]", "news", 2018),  # JSON text works too
        ],
    )

query = serialize_float32([0.0, 1.0, 0.0])  # also takes an array.array or a numpy array
for rowid, category, distance in conn.execute(
    "SELECT rowid, category, distance FROM docs WHERE knn_match(embedding, ?) AND k = 2",
    [query],
):
    print(rowid, category, round(distance, 4))
# metadata filters are applied inside the search: the 2 nearest rows among news from 2020 on
print(conn.execute(
    "SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 2"
    " AND category = 'news' AND year >= 2020",
    [query],
).fetchall())
conn.close()
