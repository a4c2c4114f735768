-- 008_calendar_from_1990: the Bureau's published series start before 2000 (life expectancy from 1999,
-- population from 1991): the calendar reaches back to 1990, with the same rules as 001.
INSERT INTO periods
SELECT CAST(y AS VARCHAR), 'year', y, NULL, NULL, make_date(y, 1, 1), make_date(y, 12, 31)
FROM range(1990, 2000) t(y);
INSERT INTO periods
SELECT CAST(y AS VARCHAR) || '-Q' || CAST(q AS VARCHAR), 'quarter', y, q, NULL,
       make_date(y, 3 * q - 2, 1),
       CAST(make_date(y, 3 * q - 2, 1) + INTERVAL 3 MONTH - INTERVAL 1 DAY AS DATE)
FROM range(1990, 2000) t(y), range(1, 5) s(q);
INSERT INTO periods
SELECT CAST(y AS VARCHAR) || '-' || lpad(CAST(m AS VARCHAR), 2, '0'), 'month', y, (m + 2) // 3, m,
       make_date(y, m, 1),
       CAST(make_date(y, m, 1) + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE)
FROM range(1990, 2000) t(y), range(1, 13) s(m);
