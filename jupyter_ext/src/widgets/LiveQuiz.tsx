import React, { useEffect, useState } from 'react';

import {
  choiceLetter,
  draftRequest,
  ILiveDraft,
  LiveModel,
  MAX_CHOICES,
  MIN_CHOICES
} from '../live';
import { ILiveQuestion, LiveState } from '../model';
import { CourseModel } from '../state';
import { IPanelActions } from './actions';
import { useModel } from './useModel';

/** How a question's state reads on a badge. */
export const STATE_LABELS: Record<LiveState, string> = {
  open: 'Open',
  closed: 'Closed',
  revealed: 'Revealed'
};

/** "3 answered of 25 online" (teachers' view of a question). */
export function tallyLine(q: ILiveQuestion): string {
  return `${q.answered ?? 0} answered of ${q.online ?? 0} online`;
}

const EMPTY_DRAFT: ILiveDraft = {
  text: '',
  choices: ['', '', ''],
  answer: null,
  explanation: ''
};

/** A question of a session's quiz, picked by session and number. */
function FromQuiz(props: {
  model: CourseModel;
  onOpen: (session: string, number: number) => void;
}): JSX.Element {
  const { model, onOpen } = props;
  const sessions = (model.program?.sessions ?? []).filter(s => s.quiz_questions > 0);
  const preferred = [model.currentSessionId, model.defaultSession].find(id =>
    sessions.some(s => s.id === id)
  );
  const [picked, setPicked] = useState<string | null>(null);
  const sessionId = picked ?? preferred ?? sessions[0]?.id ?? null;
  const [number, setNumber] = useState(0);
  const quiz = sessionId ? model.quizzes[sessionId] : undefined;
  const quizError = sessionId ? model.quizErrors[sessionId] : undefined;

  useEffect(() => {
    if (sessionId && !model.quizzes[sessionId]) {
      void model.loadQuiz(sessionId);
    }
  }, [model, sessionId]);

  if (sessions.length === 0) {
    return <p className="jp-Course-hint">No session of the course has a quiz.</p>;
  }
  const question = quiz?.questions[number];
  return (
    <div className="jp-Course-liveFromQuiz">
      <label>
        <span>Session</span>
        <select
          value={sessionId ?? ''}
          onChange={e => {
            setPicked(e.target.value);
            setNumber(0);
          }}
        >
          {sessions.map(s => (
            <option key={s.id} value={s.id}>
              {s.title}
            </option>
          ))}
        </select>
      </label>
      {quizError && (
        <div className="jp-Course-error" role="alert">
          {quizError.message}
        </div>
      )}
      {!quiz && !quizError && (
        <div className="jp-Course-loading">Loading the quiz…</div>
      )}
      {quiz && (
        <>
          <label>
            <span>Question</span>
            <select value={number} onChange={e => setNumber(Number(e.target.value))}>
              {quiz.questions.map(q => (
                <option key={q.index} value={q.index}>
                  {q.index + 1}. {q.question}
                </option>
              ))}
            </select>
          </label>
          {question && (
            <ol className="jp-Course-livePreview" type="A">
              {Object.entries(question.choices).map(([letter, text]) => (
                <li key={letter}>{text}</li>
              ))}
            </ol>
          )}
          <button
            className="jp-mod-styled jp-mod-accept"
            disabled={!question || model.live.opening}
            onClick={() => sessionId && onOpen(sessionId, number)}
          >
            Open for the class
          </button>
        </>
      )}
    </div>
  );
}

/** A question typed by the teacher: 2-5 choices, an optional right one and why. */
function Typed(props: {
  busy: boolean;
  onOpen: (draft: ILiveDraft) => Promise<boolean>;
}): JSX.Element {
  const [draft, setDraft] = useState<ILiveDraft>(EMPTY_DRAFT);
  const change = (over: Partial<ILiveDraft>) => setDraft({ ...draft, ...over });
  const setChoice = (i: number, text: string) =>
    change({ choices: draft.choices.map((c, j) => (j === i ? text : c)) });
  const remove = (i: number) =>
    change({
      choices: draft.choices.filter((_, j) => j !== i),
      answer:
        draft.answer === null || draft.answer === i
          ? null
          : draft.answer > i
            ? draft.answer - 1
            : draft.answer
    });

  return (
    <div className="jp-Course-liveTyped">
      <label>
        <span>Question text</span>
        <textarea
          value={draft.text}
          rows={2}
          onChange={e => change({ text: e.target.value })}
        />
      </label>
      {draft.choices.map((c, i) => (
        <div className="jp-Course-liveChoiceField" key={i}>
          <label>
            <span>Choice {choiceLetter(i)}</span>
            <input type="text" value={c} onChange={e => setChoice(i, e.target.value)} />
          </label>
          {draft.choices.length > MIN_CHOICES && (
            <button
              className="jp-Course-link"
              aria-label={`Remove choice ${choiceLetter(i)}`}
              onClick={() => remove(i)}
            >
              ×
            </button>
          )}
        </div>
      ))}
      <button
        className="jp-mod-styled"
        disabled={draft.choices.length >= MAX_CHOICES}
        onClick={() => change({ choices: [...draft.choices, ''] })}
      >
        Add a choice
      </button>
      <label>
        <span>Right answer</span>
        <select
          value={draft.answer === null ? '' : String(draft.answer)}
          onChange={e =>
            change({ answer: e.target.value === '' ? null : Number(e.target.value) })
          }
        >
          <option value="">None (a poll)</option>
          {draft.choices.map((c, i) => (
            <option key={i} value={i}>
              {choiceLetter(i)}
              {c.trim() ? `. ${c.trim()}` : ''}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Explanation (shown at the reveal)</span>
        <textarea
          value={draft.explanation}
          rows={2}
          onChange={e => change({ explanation: e.target.value })}
        />
      </label>
      <button
        className="jp-mod-styled jp-mod-accept"
        disabled={props.busy}
        onClick={async () => {
          if (await props.onOpen(draft)) {
            setDraft(EMPTY_DRAFT);
          }
        }}
      >
        Open for the class
      </button>
    </div>
  );
}

/**
 * Teachers: the Live quiz section of the panel. The current question with
 * its tally and Close/Reveal, and a question to open: from a session's quiz
 * or typed.
 */
/** A teacher's Close (while open) and Reveal (until revealed) buttons, in the
 *  panel and in the projected live view alike. */
export function CloseReveal(props: {
  live: LiveModel;
  question: ILiveQuestion;
  accent?: boolean;
}): JSX.Element {
  const { live, question: q } = props;
  return (
    <>
      {q.state === 'open' && (
        <button
          className="jp-mod-styled"
          disabled={live.acting !== null}
          onClick={() => void live.close()}
        >
          Close
        </button>
      )}
      {q.state !== 'revealed' && (
        <button
          className={props.accent ? 'jp-mod-styled jp-mod-accept' : 'jp-mod-styled'}
          disabled={live.acting !== null}
          onClick={() => void live.reveal()}
        >
          Reveal
        </button>
      )}
    </>
  );
}

export function LiveQuiz(props: {
  model: CourseModel;
  actions: IPanelActions;
}): JSX.Element | null {
  const { model, actions } = props;
  const live = model.live;
  useModel(live);
  const [mode, setMode] = useState<'quiz' | 'typed'>('quiz');
  const [invalid, setInvalid] = useState<string | null>(null);
  if (!model.me?.teacher) {
    return null;
  }
  const q = live.question;

  const opened = () => {
    setInvalid(null);
    actions.openLiveView?.();
  };
  const openFromQuiz = async (session: string, number: number) => {
    if (await live.open({ session, number })) {
      opened();
    }
  };
  const openTyped = async (draft: ILiveDraft) => {
    const checked = draftRequest(draft);
    if (checked.error !== undefined) {
      setInvalid(checked.error);
      return false;
    }
    setInvalid(null);
    const done = await live.open(checked.request);
    if (done) {
      opened();
    }
    return done !== null;
  };

  return (
    <section className="jp-Course-liveQuiz" aria-label="Live quiz">
      <h3>Live quiz</h3>
      {q && (
        <div className={`jp-Course-liveCurrent jp-mod-${q.state}`} data-live={q.id}>
          <p>
            <span className={`jp-Course-badge jp-mod-${q.state}`}>
              {STATE_LABELS[q.state]}
            </span>{' '}
            {q.text}
          </p>
          <p className="jp-Course-hint">{tallyLine(q)}</p>
          <div className="jp-Course-row">
            <CloseReveal live={live} question={q} />
            {actions.openLiveView && (
              <button
                className="jp-mod-styled"
                onClick={() => actions.openLiveView?.()}
              >
                Live view
              </button>
            )}
          </div>
        </div>
      )}
      {live.actionError && (
        <div className="jp-Course-error" role="alert">
          {live.actionError.message}
        </div>
      )}
      <div className="jp-Course-liveMode" role="radiogroup" aria-label="Ask">
        <label>
          <input
            type="radio"
            name="course-live-mode"
            checked={mode === 'quiz'}
            onChange={() => setMode('quiz')}
          />
          <span>From a session quiz</span>
        </label>
        <label>
          <input
            type="radio"
            name="course-live-mode"
            checked={mode === 'typed'}
            onChange={() => setMode('typed')}
          />
          <span>Type a question</span>
        </label>
      </div>
      {mode === 'quiz' ? (
        <FromQuiz model={model} onOpen={(s, n) => void openFromQuiz(s, n)} />
      ) : (
        <Typed busy={live.opening} onOpen={openTyped} />
      )}
      {invalid && (
        <div className="jp-Course-error" role="alert">
          {invalid}
        </div>
      )}
      {live.openError && (
        <div className="jp-Course-error" role="alert">
          {live.openError.message}
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
