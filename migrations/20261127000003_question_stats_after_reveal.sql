-- question_stats promised that statistics stay null until a question is revealed, but showed the
-- distribution, correct count and mean time of an open question to anyone with psql access.
-- Same columns as before; the figures are now null until revealed_at is set.
CREATE OR REPLACE VIEW question_stats AS
SELECT r.code,
       q.room_id,
       q.idx AS question,
       q.prompt,
       q.choices,
       q.correct,
       q.time_limit_ms,
       q.started_at,
       q.deadline_at,
       q.close_reason,
       q.revealed_at IS NOT NULL AS revealed,
       (SELECT COUNT(*) FROM answers a WHERE a.room_id = q.room_id AND a.question = q.idx) AS answered,
       CASE WHEN q.revealed_at IS NOT NULL THEN
           (SELECT COUNT(*) FROM answers a
             WHERE a.room_id = q.room_id AND a.question = q.idx AND a.correct)
       END AS correct_count,
       CASE WHEN q.revealed_at IS NOT NULL THEN
           (SELECT ROUND(100.0 * COUNT(*) FILTER (WHERE a.correct) / NULLIF(COUNT(*), 0), 1)
              FROM answers a WHERE a.room_id = q.room_id AND a.question = q.idx)
       END AS percent_correct,
       CASE WHEN q.revealed_at IS NOT NULL THEN
           ARRAY(SELECT COUNT(a.id)
                   FROM generate_subscripts(q.choices, 1) AS c(i)
                   LEFT JOIN answers a ON a.room_id = q.room_id AND a.question = q.idx AND a.choice = c.i - 1
                  GROUP BY c.i ORDER BY c.i)
       END AS distribution,
       CASE WHEN q.revealed_at IS NOT NULL THEN
           (SELECT ROUND(AVG(a.response_ms)) FROM answers a
             WHERE a.room_id = q.room_id AND a.question = q.idx)
       END AS avg_response_ms
  FROM questions q
  JOIN rooms r ON r.id = q.room_id;
