import React, { useState } from 'react';

import { IQuizQuestion } from '../model';
import { CourseModel } from '../state';

function Question(props: {
  model: CourseModel;
  session: string;
  q: IQuizQuestion;
}): JSX.Element {
  const { model, session, q } = props;
  const [picked, setPicked] = useState<string | null>(q.choice);
  const [checking, setChecking] = useState(false);
  const name = `course-quiz-${session}-${q.index}`;

  const check = async () => {
    if (picked) {
      setChecking(true);
      await model.answerQuiz(session, q.index, picked);
      setChecking(false);
    }
  };

  return (
    <li className="jp-Course-question" data-question={q.index + 1}>
      <p className="jp-Course-questionText">
        {q.index + 1}. {q.question}
      </p>
      <div role="radiogroup" aria-label={`Question ${q.index + 1}`}>
        {Object.entries(q.choices).map(([letter, text]) => (
          <label key={letter} className="jp-Course-choice">
            <input
              type="radio"
              name={name}
              value={letter}
              checked={picked === letter}
              onChange={() => setPicked(letter)}
            />
            <span>
              {letter}. {text}
            </span>
          </label>
        ))}
      </div>
      <button
        className="jp-mod-styled"
        onClick={() => void check()}
        disabled={!picked || checking}
      >
        Check
      </button>
      {q.choice !== null && (
        <div
          className={q.correct ? 'jp-Course-report' : 'jp-Course-warning'}
          role="status"
        >
          {q.correct
            ? `Right: ${q.answer}.`
            : `Not quite: you chose ${q.choice}, the answer is ${q.answer}.`}{' '}
          {q.explanation}
        </div>
      )}
    </li>
  );
}

export function Quiz(props: { model: CourseModel; session: string }): JSX.Element {
  const { model, session } = props;
  const quiz = model.quizzes[session];
  const error = model.quizErrors[session];
  return (
    <div className="jp-Course-quiz">
      {error && (
        <div className="jp-Course-error" role="alert">
          {error.message}
        </div>
      )}
      {!quiz && !error && <div className="jp-Course-loading">Loading the quiz…</div>}
      {quiz && (
        <>
          <div className="jp-Course-hint">
            {quiz.score.answered}/{quiz.score.total} answered, {quiz.score.correct}{' '}
            right at the first try. Your answers are kept in your home.
          </div>
          <ol className="jp-Course-questions">
            {quiz.questions.map(q => (
              <Question
                key={`${q.index}:${q.question}`}
                model={model}
                session={session}
                q={q}
              />
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
