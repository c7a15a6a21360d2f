import React from 'react';

import { choiceLetter, LiveModel } from '../live';
import { ILiveQuestion } from '../model';
import { useModel } from './useModel';

/** The sentence under a revealed question, from the student's side. */
export function revealLine(q: ILiveQuestion): string {
  const mine = q.my_answer;
  const said = (i: number) => `${choiceLetter(i)}. ${q.choices[i] ?? ''}`.trim();
  if (q.answer === null) {
    return mine === null
      ? 'No single right answer to this one. You did not answer.'
      : `No single right answer to this one. You chose ${said(mine)}`;
  }
  if (mine === q.answer) {
    return `Right: ${said(q.answer)}`;
  }
  if (mine === null) {
    return `The answer is ${said(q.answer)} You did not answer.`;
  }
  return `Not quite: you chose ${choiceLetter(mine)}, the answer is ${said(q.answer)}`;
}

/**
 * Students: the question the teacher has open, at the top of the panel. A
 * click answers; the student may change until the teacher closes it; the
 * answer and the explanation show once revealed.
 */
export function LiveQuestion(props: { live: LiveModel }): JSX.Element | null {
  const { live } = props;
  useModel(live);
  const q = live.question;
  if (!q || live.teacher) {
    return null;
  }
  const open = q.state === 'open';
  const revealed = q.state === 'revealed';
  const chosen = live.chosen;

  return (
    <section
      className={`jp-Course-live jp-mod-${q.state}`}
      aria-label="Live question"
      data-live={q.id}
    >
      <h3>Live question</h3>
      <p className="jp-Course-liveText">{q.text}</p>
      <div className="jp-Course-liveChoices" role="group" aria-label="Choices">
        {q.choices.map((text, i) => {
          const mine = chosen === i;
          const classes = ['jp-Course-liveChoice'];
          if (mine) {
            classes.push('jp-mod-chosen');
          }
          if (revealed && q.answer === i) {
            classes.push('jp-mod-correct');
          }
          if (revealed && mine && q.answer !== null && q.answer !== i) {
            classes.push('jp-mod-wrong');
          }
          return (
            <button
              key={i}
              className={classes.join(' ')}
              data-choice={i}
              aria-pressed={mine}
              disabled={!open || live.sending !== null}
              onClick={() => void live.answer(i)}
            >
              <span className="jp-Course-liveLetter">{choiceLetter(i)}</span>
              <span className="jp-Course-liveChoiceText">{text}</span>
              {mine && <span className="jp-Course-liveMine">your answer</span>}
            </button>
          );
        })}
      </div>
      {open && (
        <p className="jp-Course-hint">
          {chosen === null
            ? 'Click your answer. You can change it until the teacher closes the question.'
            : 'Answer sent. You can change it until the teacher closes the question.'}
        </p>
      )}
      {q.state === 'closed' && (
        <div className="jp-Course-liveStatus" role="status">
          Closed, waiting for the answer
        </div>
      )}
      {revealed && (
        <div
          className={
            q.answer !== null && q.my_answer === q.answer
              ? 'jp-Course-report'
              : 'jp-Course-warning'
          }
          role="status"
        >
          {revealLine(q)}
          {q.explanation && (
            <p className="jp-Course-liveExplanation">{q.explanation}</p>
          )}
        </div>
      )}
      {live.answerError && (
        <div className="jp-Course-error" role="alert">
          {live.answerError.message}
        </div>
      )}
      {live.pollError && (
        <div className="jp-Course-warning" role="alert">
          {live.pollError.message}
        </div>
      )}
    </section>
  );
}
