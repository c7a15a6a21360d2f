import React, { useEffect } from 'react';

import { formatClock } from '../format';
import { choiceLetter, LiveModel } from '../live';
import { ILiveQuestion } from '../model';
import { CloseReveal, STATE_LABELS, tallyLine } from './LiveQuiz';
import { useModel } from './useModel';

/** One bar per choice: its share of the answers, and the count. */
function Bars(props: { q: ILiveQuestion }): JSX.Element {
  const { q } = props;
  const counts = q.choices.map((_, i) => q.counts?.[i] ?? 0);
  const total = counts.reduce((a, b) => a + b, 0);
  return (
    <ol className="jp-Course-liveBars">
      {q.choices.map((text, i) => {
        const share = total ? Math.round((100 * counts[i]) / total) : 0;
        const correct = q.state === 'revealed' && q.answer === i;
        return (
          <li
            key={i}
            data-choice={i}
            className={`jp-Course-liveBar${correct ? ' jp-mod-correct' : ''}`}
            aria-label={`${choiceLetter(i)}. ${text}: ${counts[i]} answer${counts[i] === 1 ? '' : 's'}`}
          >
            <span className="jp-Course-liveBarLabel">
              <span className="jp-Course-liveLetter">{choiceLetter(i)}</span> {text}
            </span>
            <span className="jp-Course-liveBarTrack">
              <span className="jp-Course-liveBarFill" style={{ width: `${share}%` }} />
            </span>
            <span className="jp-Course-liveBarCount">{counts[i]}</span>
          </li>
        );
      })}
    </ol>
  );
}

/**
 * Teachers: the live quiz made to be projected, in large type. The question,
 * "N answered of M online", a bar per choice following the answers as they
 * come, Close, Reveal, the CSV, and the earlier questions.
 */
export function LiveView(props: { live: LiveModel }): JSX.Element {
  const { live } = props;
  useModel(live);
  useEffect(() => {
    void live.loadHistory();
  }, [live]);
  const q = live.shown;
  const current = q !== null && q.id === live.question?.id;

  return (
    <div className="jp-Course-liveView">
      {!q && (
        <p className="jp-Course-liveEmpty">
          No live question yet. Open one from the Course panel&apos;s Live quiz section.
        </p>
      )}
      {q && (
        <article className={`jp-Course-liveShown jp-mod-${q.state}`} data-live={q.id}>
          <header className="jp-Course-liveViewHead">
            <span className={`jp-Course-badge jp-mod-${q.state}`}>
              {STATE_LABELS[q.state]}
            </span>
            {!current && (
              <span className="jp-Course-hint">
                An earlier question, opened at {formatClock(q.opened_at)}
              </span>
            )}
          </header>
          <h1 className="jp-Course-liveViewText">{q.text}</h1>
          <p className="jp-Course-liveTally" role="status">
            {tallyLine(q)}
          </p>
          <Bars q={q} />
          {q.state === 'revealed' && q.explanation && (
            <p className="jp-Course-liveExplanation">{q.explanation}</p>
          )}
          <div className="jp-Course-liveToolbar">
            <CloseReveal live={live} question={q} accent />
            <a
              className="jp-mod-styled jp-Course-liveCsv"
              href={live.csvUrl(q.id)}
              download={`live-question-${q.id}.csv`}
            >
              Download CSV
            </a>
            {!current && live.question && (
              <button className="jp-mod-styled" onClick={() => void live.view(null)}>
                Back to the current question
              </button>
            )}
          </div>
        </article>
      )}
      {live.actionError && (
        <div className="jp-Course-error" role="alert">
          {live.actionError.message}
        </div>
      )}
      {live.pollError && (
        <div className="jp-Course-warning" role="alert">
          {live.pollError.message}
        </div>
      )}
      <section className="jp-Course-liveHistory" aria-label="Earlier questions">
        <h2>Earlier questions</h2>
        {live.historyError && (
          <div className="jp-Course-error" role="alert">
            {live.historyError.message}
          </div>
        )}
        {live.history?.length === 0 && (
          <p className="jp-Course-hint">No question asked yet.</p>
        )}
        <ul>
          {(live.history ?? []).map(listed => {
            // The current question's tally is live; the listed one is from its load.
            const h = listed.id === live.question?.id ? live.question : listed;
            return (
              <li
                key={h.id}
                data-live={h.id}
                className={h.id === q?.id ? 'jp-mod-shown' : ''}
              >
                <button className="jp-Course-link" onClick={() => void live.view(h.id)}>
                  {formatClock(h.opened_at)} · {h.text}
                </button>
                <span className="jp-Course-hint">
                  {STATE_LABELS[h.state]} · {h.answered ?? 0} answered
                </span>
                <a
                  href={live.csvUrl(h.id)}
                  download={`live-question-${h.id}.csv`}
                  aria-label={`Download the answers to question ${h.id} (CSV)`}
                >
                  CSV
                </a>
              </li>
            );
          })}
        </ul>
      </section>
    </div>
  );
}
