-- Every bad vector is rejected with a clear error and writes nothing.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[3], category text);
CREATE VIRTUAL TABLE cos USING veclite(embedding float[2], distance = cosine);
INSERT INTO docs(embedding) VALUES ('[1,2]');
INSERT INTO docs(embedding) VALUES ('[1,2,3,4]');
INSERT INTO docs(embedding) VALUES (NULL);
INSERT INTO docs(category) VALUES ('no vector');
INSERT INTO docs(embedding) VALUES ('[1,2,oops]');
INSERT INTO docs(embedding) VALUES (X'0000803F0000803F');
INSERT INTO docs(embedding) VALUES (X'0000803F0000803F0000803F00');
INSERT INTO docs(embedding) VALUES (X'0000C07F0000803F0000803F');
INSERT INTO docs(embedding) VALUES (12);
INSERT INTO docs(embedding, distance) VALUES ('[1,2,3]', 0.5);
INSERT INTO docs(embedding, k) VALUES ('[1,2,3]', 5);
INSERT INTO cos(embedding) VALUES ('[0,0]');
SELECT count(*) FROM docs;
SELECT count(*) FROM cos;
