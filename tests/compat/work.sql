-- work.sql - the sqlite3 workload of the compat suite (run with
-- `sqlite3 -batch -bail db.sqlite < work.sql`).  100,000 users and 150,000
-- orders made by recursive CTEs, five indexes, updates, deletes, a rebuilt
-- index, VACUUM, PRAGMA integrity_check; the queries' output depends only on
-- the data (no random(), no dates).
PRAGMA journal_mode = DELETE;
PRAGMA foreign_keys = ON;
PRAGMA cache_size = -8000;
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE,
                   grp INTEGER, score REAL, bio TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    sku TEXT, qty INTEGER, price INTEGER, note TEXT);
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000)
INSERT INTO users
SELECT i, 'user' || (i * 7919 % 100003), 'u' || i || '@example.invalid', i * 31 % 97,
       (i * 7919 % 10007) / 7.0,
       CASE WHEN i % 4 = 0 THEN NULL
            ELSE printf('%s-%.*c-%x', substr('abcdefghijklmnopqrstuvwxyz', i % 26 + 1, 5), i % 40, 'z', i * i) END
FROM c;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 150000)
INSERT INTO orders
SELECT i, 1 + (i * 48271 % 100000), 'SKU-' || (i * 13 % 2311), 1 + i % 9, 100 + (i * 37 % 9000),
       CASE WHEN i % 3 = 0 THEN printf('order %d for %d', i, i % 1000) END
FROM c;
COMMIT;
CREATE INDEX users_grp_score ON users(grp, score);
CREATE INDEX users_name ON users(name);
CREATE INDEX orders_user ON orders(user_id);
CREATE INDEX orders_sku ON orders(sku, price);
CREATE INDEX orders_note ON orders(note) WHERE note IS NOT NULL;
SELECT 'sizes', (SELECT count(*) FROM users), (SELECT count(*) FROM orders);
SELECT grp, count(*), round(sum(score), 3), max(name), min(bio) FROM users GROUP BY grp ORDER BY grp LIMIT 12;
SELECT u.name, count(o.id) AS n, sum(o.qty * o.price) AS total
  FROM users AS u JOIN orders AS o ON o.user_id = u.id
  GROUP BY u.id ORDER BY total DESC, u.id LIMIT 15;
SELECT sku, count(*), sum(qty), group_concat(id, ',') FROM orders
  WHERE sku IN ('SKU-7', 'SKU-99', 'SKU-1000') GROUP BY sku ORDER BY sku;
BEGIN;
UPDATE users SET score = score * 1.5, bio = upper(coalesce(bio, 'none')) || printf('%08d', id) WHERE id % 7 = 0;
UPDATE orders SET note = coalesce(note, '') || ' (repriced)', price = price + 1 WHERE sku LIKE 'SKU-1%';
DELETE FROM users WHERE grp % 5 = 2;
DELETE FROM orders WHERE price % 11 = 0;
INSERT INTO users(name, email, grp, score, bio)
  SELECT 'again-' || name, 'again-' || email, grp + 100, score / 2, bio FROM users WHERE id % 13 = 0;
COMMIT;
REINDEX users_name;
SELECT 'after', (SELECT count(*) FROM users), (SELECT count(*) FROM orders),
       (SELECT sum(length(bio)) FROM users), (SELECT sum(length(note)) FROM orders);
SELECT id, name, grp, score, rank FROM (
  SELECT id, name, grp, score, rank() OVER (PARTITION BY grp ORDER BY score DESC, id) AS rank FROM users)
  WHERE rank <= 2 ORDER BY grp, rank LIMIT 30;
SELECT json_group_array(json_object('sku', sku, 'n', n)) FROM
  (SELECT sku, count(*) AS n FROM orders GROUP BY sku ORDER BY n DESC, sku LIMIT 10);
CREATE TABLE summary AS
  SELECT u.grp, o.sku, count(*) AS n, sum(o.price) AS p FROM users AS u JOIN orders AS o ON o.user_id = u.id
  GROUP BY u.grp, o.sku;
SELECT count(*), sum(n), sum(p) FROM summary;
DROP TABLE summary;
VACUUM;
PRAGMA integrity_check;
PRAGMA foreign_key_check;
SELECT 'final', count(*), sum(score), max(email) FROM users;
SELECT 'final', count(*), sum(price), max(note) FROM orders;
