-- A full CREATE with every option; the declared columns as SPEC §2 lists them.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(
  embedding float[4],          -- the vector column
  category text,               -- metadata
  year integer,
  score real,
  raw blob,
  distance = cosine,
  m = 8,
  ef_construction = 100,
  ef_search = 32
);
SELECT name, type, hidden FROM pragma_table_xinfo('docs');
SELECT name FROM sqlite_schema WHERE name LIKE 'docs%' ORDER BY name;
SELECT json_extract(veclite_info('docs'), '$.dims', '$.metric', '$.params.m', '$.params.ef_construction', '$.params.ef_search', '$.rows');
-- defaults
CREATE VIRTUAL TABLE d2 USING veclite(v FLOAT[2]);
SELECT json_extract(veclite_info('d2'), '$.metric', '$.params');
