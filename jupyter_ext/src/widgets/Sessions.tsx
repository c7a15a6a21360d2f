import React from 'react';

import { notebookBadge, presetLabel } from '../format';
import { ISession } from '../model';
import { CourseModel } from '../state';
import { IPanelActions } from './actions';
import { Assignment } from './Assignment';
import { Quiz } from './Quiz';

function SessionCard(props: {
  session: ISession;
  model: CourseModel;
  actions: IPanelActions;
}): JSX.Element {
  const { session, model, actions } = props;
  const opening = model.opening === session.id;
  const current = model.currentSessionId === session.id;
  const report = model.report?.session === session.id ? model.report : null;
  const error = model.reportError?.session === session.id ? model.reportError : null;
  const hasFiles = session.notebooks.length > 0;
  const broken = session.state === 'broken';

  const open = async () => {
    const result = await model.openSession(session.id);
    if (result?.open) {
      await actions.openNotebook(result.open);
    }
  };

  return (
    <li
      className={`jp-Course-session${current ? ' jp-mod-current' : ''}`}
      data-session={session.id}
    >
      <details open={current || undefined}>
        <summary>
          <span className="jp-Course-sessionTitle">{session.title}</span>
          <span className="jp-Course-duration">
            {session.duration}
            {session.self_paced ? ' + self paced' : ''}
          </span>
          {broken && (
            <span className="jp-Course-badge jp-mod-missing">needs repair</span>
          )}
        </summary>
        {session.summary && <p className="jp-Course-summary">{session.summary}</p>}
        {session.slides.length > 0 && (
          <p className="jp-Course-slides">
            {session.slides.map(s => (
              <a key={s.url} href={s.url} target="_blank" rel="noopener noreferrer">
                {s.title}
              </a>
            ))}
          </p>
        )}
        {hasFiles && (
          <ul className="jp-Course-notebooks">
            {session.notebooks.map(nb => {
              const badge = notebookBadge(nb);
              return (
                <li key={nb.path} data-notebook={nb.path}>
                  {nb.present ? (
                    <button
                      className="jp-Course-link"
                      onClick={() => void actions.openNotebook(nb.local_path)}
                      title={`Open ${nb.local_path}`}
                    >
                      {nb.title}
                    </button>
                  ) : (
                    <span>{nb.title}</span>
                  )}
                  <span className={`jp-Course-badge jp-mod-${badge.kind}`}>
                    {badge.text}
                  </span>
                </li>
              );
            })}
          </ul>
        )}
        {session.cluster && (
          <p className="jp-Course-preset">Cluster: {presetLabel(session.cluster)}</p>
        )}
        {broken && (
          <div className="jp-Course-warning" role="alert">
            {session.problem}
          </div>
        )}
        {(hasFiles || broken) && (
          <button
            className="jp-mod-styled jp-mod-accept jp-Course-open"
            onClick={() => void open()}
            disabled={model.opening !== null}
            aria-label={`Open session ${session.title}`}
          >
            {opening
              ? 'Syncing your notebooks…'
              : broken
                ? 'Repair and open'
                : session.opened
                  ? 'Open again'
                  : 'Open session'}
          </button>
        )}
        {report && (
          <div className="jp-Course-report" role="status">
            {report.lines.map(line => (
              <div key={line}>{line}</div>
            ))}
          </div>
        )}
        {error && (
          <div className="jp-Course-error" role="alert">
            {error.message}
          </div>
        )}
        {session.assignment && (
          <Assignment session={session} model={model} actions={actions} />
        )}
        {session.quiz_questions > 0 && (
          <details
            className="jp-Course-quizSection"
            onToggle={e => {
              if ((e.target as HTMLDetailsElement).open) {
                void model.loadQuiz(session.id);
              }
            }}
          >
            <summary>
              Quiz ({session.quiz_questions} question
              {session.quiz_questions === 1 ? '' : 's'})
            </summary>
            <Quiz model={model} session={session.id} />
          </details>
        )}
      </details>
    </li>
  );
}

export function Sessions(props: {
  model: CourseModel;
  actions: IPanelActions;
}): JSX.Element {
  const { model, actions } = props;
  if (model.programError && !model.program) {
    return (
      <div className="jp-Course-error" role="alert">
        {model.programError.message}
        <button className="jp-mod-styled" onClick={() => void model.refreshProgram()}>
          Try again
        </button>
      </div>
    );
  }
  if (!model.program) {
    return <div className="jp-Course-loading">Loading the program…</div>;
  }
  return (
    <>
      {model.program.content_error && (
        <div className="jp-Course-warning" role="alert">
          The course content has a problem; you see the last good version. Tell your
          teacher: {model.program.content_error}
        </div>
      )}
      <ol className="jp-Course-sessions">
        {model.program.sessions.map(s => (
          <SessionCard key={s.id} session={s} model={model} actions={actions} />
        ))}
      </ol>
    </>
  );
}
