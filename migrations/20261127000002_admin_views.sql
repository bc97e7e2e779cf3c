-- Views for admins who review games with psql. For example:
--   who won room 048213?
--     SELECT rank, nickname, score FROM player_results WHERE code = '048213' AND rank = 1;
--   was Ann's answer to question 3 in time?
--     SELECT received_at, deadline_at, in_time FROM answer_log
--      WHERE code = '048213' AND nickname = 'Ann' AND question = 3;
-- A code is reused once its room is finished; these views show every room that ever had it,
-- newest first by created_at, so add "AND room_created_at = (...)" or filter by room_id if needed.

-- Every accepted answer with the question's deadline: was it in time, was it right, what did it earn.
CREATE VIEW answer_log AS
SELECT r.id            AS room_id,
       r.code,
       r.created_at    AS room_created_at,
       a.question,
       q.prompt,
       p.id            AS player_id,
       p.nickname,
       a.choice,
       q.choices[a.choice + 1] AS choice_text,
       a.correct,
       a.points,
       a.received_at,
       q.started_at,
       q.deadline_at,
       a.received_at <= q.deadline_at AS in_time,
       a.response_ms,
       q.revealed_at IS NOT NULL AS revealed
  FROM answers a
  JOIN questions q ON q.room_id = a.room_id AND q.idx = a.question
  JOIN players p ON p.id = a.player_id
  JOIN rooms r ON r.id = a.room_id;

-- One row per player who ever joined: score and correct answers over revealed questions, and rank
-- (1 + the number of players in the room with a strictly higher score).
CREATE VIEW player_results AS
WITH totals AS (
    SELECT p.room_id,
           p.id AS player_id,
           p.nickname,
           p.status,
           p.joined_at,
           COALESCE(SUM(a.points) FILTER (WHERE q.revealed_at IS NOT NULL), 0)::bigint AS score,
           COUNT(a.id) FILTER (WHERE q.revealed_at IS NOT NULL AND a.correct) AS correct_count,
           COUNT(a.id) FILTER (WHERE q.revealed_at IS NOT NULL) AS answered
      FROM players p
      LEFT JOIN answers a ON a.player_id = p.id
      LEFT JOIN questions q ON q.room_id = a.room_id AND q.idx = a.question
     GROUP BY p.room_id, p.id
)
SELECT r.code,
       r.title,
       r.created_at AS room_created_at,
       t.*,
       RANK() OVER (PARTITION BY t.room_id ORDER BY t.score DESC) AS rank
  FROM totals t
  JOIN rooms r ON r.id = t.room_id;

-- One row per question: how many answered, how many were right, the distribution over choices
-- and the mean response time. Statistics stay null until the question is revealed.
CREATE VIEW question_stats AS
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
       (SELECT COUNT(*) FROM answers a
         WHERE a.room_id = q.room_id AND a.question = q.idx AND a.correct) AS correct_count,
       (SELECT ROUND(100.0 * COUNT(*) FILTER (WHERE a.correct) / NULLIF(COUNT(*), 0), 1)
          FROM answers a WHERE a.room_id = q.room_id AND a.question = q.idx) AS percent_correct,
       ARRAY(SELECT COUNT(a.id)
               FROM generate_subscripts(q.choices, 1) AS c(i)
               LEFT JOIN answers a ON a.room_id = q.room_id AND a.question = q.idx AND a.choice = c.i - 1
              GROUP BY c.i ORDER BY c.i) AS distribution,
       (SELECT ROUND(AVG(a.response_ms)) FROM answers a
         WHERE a.room_id = q.room_id AND a.question = q.idx) AS avg_response_ms
  FROM questions q
  JOIN rooms r ON r.id = q.room_id;
