// The quiz one click away on the host screen.

export const SAMPLE_QUIZ = {
  title: 'World Tour Warm-up',
  questions: [
    {
      prompt: 'What is the capital of Australia?',
      choices: ['Sydney', 'Canberra', 'Melbourne', 'Perth'],
      correct: 1,
      time_limit_ms: 20000,
      points: 1000,
    },
    {
      prompt: 'The Great Wall of China is visible from the Moon with the naked eye.',
      choices: ['True', 'False'],
      correct: 1,
      time_limit_ms: 15000,
      points: 1000,
    },
    {
      prompt: 'Which planet has the most moons that we know of?',
      choices: ['Jupiter', 'Mars', 'Saturn', 'Neptune'],
      correct: 2,
      time_limit_ms: 20000,
      points: 1000,
    },
    {
      prompt: 'Which ocean is the largest?',
      choices: ['Atlantic', 'Indian', 'Arctic', 'Pacific'],
      correct: 3,
      time_limit_ms: 20000,
      points: 1000,
    },
    {
      prompt: 'How many strings does a standard violin have?',
      choices: ['3', '4', '5', '6', '7', '8'],
      correct: 1,
      time_limit_ms: 20000,
      points: 2000,
    },
  ],
  settings: { max_players: 200, auto_advance_ms: null, end_when_all_answered: true },
};
