-- quizroom schema: everything a game did, kept for review and for crash recovery.
-- Instants are timestamptz (server clock); durations are integer milliseconds.

CREATE TABLE rooms (
    id                  uuid PRIMARY KEY,
    -- The 6-digit join code; unique only among rooms that are not finished (see index below),
    -- so codes are reused over time.
    code                text NOT NULL CHECK (code ~ '^[0-9]{6}$'),
    title               text NOT NULL,
    -- SHA-256 of the host token (hex); the token itself is shown once and never stored.
    host_token_hash     text NOT NULL,
    -- lobby | question | paused | reveal | finished: the phase, as the protocol names it.
    status              text NOT NULL DEFAULT 'lobby'
                        CHECK (status IN ('lobby', 'question', 'paused', 'reveal', 'finished')),
    max_players         integer NOT NULL,
    -- null: the host moves on by hand; else ms from reveal to the next question.
    auto_advance_ms     integer,
    end_when_all_answered boolean NOT NULL,
    -- The question that is open, paused or revealed; null in lobby and finished.
    current_question    integer,
    -- When the current question was paused (null unless paused), to restore the remaining time.
    paused_at           timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz
);

CREATE UNIQUE INDEX rooms_live_code ON rooms (code) WHERE status <> 'finished';
CREATE INDEX rooms_created_at ON rooms (created_at DESC);

-- The room's own copy of its quiz: editing a quiz later never changes a played game.
CREATE TABLE questions (
    room_id         uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    idx             integer NOT NULL CHECK (idx >= 0),
    prompt          text NOT NULL,
    choices         text[] NOT NULL,
    -- The correct choice's index; never sent to a client before the question's time-up.
    correct         integer NOT NULL,
    time_limit_ms   integer NOT NULL,
    points          integer NOT NULL,
    -- Set when the question opens.
    started_at      timestamptz,
    -- started_at + time_limit_ms + time spent paused; moved by each resume. Answers received
    -- after it are too late. A restarted server re-arms the timer on this instant.
    deadline_at     timestamptz,
    -- Total time spent paused so far, subtracted from response times.
    paused_ms       bigint NOT NULL DEFAULT 0,
    -- When answers were locked (time-up), and why: deadline | locked | all_answered.
    closed_at       timestamptz,
    close_reason    text CHECK (close_reason IN ('deadline', 'locked', 'all_answered')),
    -- When the correct choice and the distribution went public; scores count only
    -- revealed questions.
    revealed_at     timestamptz,
    PRIMARY KEY (room_id, idx)
);

CREATE TABLE players (
    id              uuid PRIMARY KEY,
    room_id         uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    nickname        text NOT NULL,
    -- SHA-256 of the player's resume token (hex).
    token_hash      text NOT NULL,
    -- active | left | kicked. Left and kicked players stay for the results.
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left', 'kicked')),
    joined_at       timestamptz NOT NULL DEFAULT now(),
    left_at         timestamptz
);

-- Nicknames are unique in a room ignoring case, among players still in it.
CREATE UNIQUE INDEX players_live_nickname ON players (room_id, lower(nickname)) WHERE status = 'active';
CREATE INDEX players_room ON players (room_id);

-- One row per accepted answer. A row exists before its answer_ack is sent.
CREATE TABLE answers (
    id              uuid PRIMARY KEY,
    room_id         uuid NOT NULL,
    question        integer NOT NULL,
    player_id       uuid NOT NULL REFERENCES players (id) ON DELETE CASCADE,
    choice          integer NOT NULL,
    -- Server time when the server read the answer's frame: the only clock that counts.
    received_at     timestamptz NOT NULL,
    -- received_at - question.started_at - time spent paused before it.
    response_ms     integer NOT NULL,
    correct         boolean NOT NULL,
    -- Points the answer earns; they reach the visible score only when the question is revealed.
    points          integer NOT NULL,
    FOREIGN KEY (room_id, question) REFERENCES questions (room_id, idx) ON DELETE CASCADE,
    -- One accepted answer per player and question.
    UNIQUE (player_id, question)
);

CREATE INDEX answers_room_question ON answers (room_id, question);

-- Append-only log of phase changes, stamped by the server.
CREATE TABLE room_events (
    id              bigserial PRIMARY KEY,
    room_id         uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL,
    -- created | started | question_opened | paused | resumed | time_up | revealed | finished |
    -- player_joined | player_left | player_kicked
    kind            text NOT NULL,
    question        integer,
    -- Extra facts, e.g. {"reason": "deadline"} or {"player_id": ...}.
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX room_events_room ON room_events (room_id, id);
