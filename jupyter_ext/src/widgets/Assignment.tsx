import React, { useEffect } from 'react';

import {
  assignmentPhase,
  formatDateTime,
  formatSize,
  formatTimeLeft,
  receiptLine
} from '../format';
import { IReceipt, ISession } from '../model';
import { CourseModel } from '../state';
import { IPanelActions } from './actions';
import { useNow } from './useNow';

const CLOSED = 'The deadline has passed: hand-ins are closed.';

/** Teachers: each student's latest hand-in, a download each, and all as a zip. */
function HandinList(props: {
  session: ISession;
  model: CourseModel;
  handins: IReceipt[];
}): JSX.Element {
  const { session, model, handins } = props;
  const zip = model.api.downloadUrl(
    `sessions/${encodeURIComponent(session.id)}/handins.zip`
  );
  return (
    <div className="jp-Course-handinList">
      <h4>
        Hand-ins ({handins.length} student{handins.length === 1 ? '' : 's'})
      </h4>
      {handins.length === 0 ? (
        <p className="jp-Course-hint">Nobody has handed in yet.</p>
      ) : (
        <ul>
          {handins.map(r => (
            <li key={r.id} data-user={r.user} title={r.sha256}>
              <span className="jp-Course-handinUser">{r.user}</span>
              <span>
                {formatDateTime(r.received)} · {formatSize(r.size)}
              </span>
              {r.late && <span className="jp-Course-badge jp-mod-late">late</span>}
              <a
                href={model.api.downloadUrl(`handins/${encodeURIComponent(r.id)}`)}
                download={`${r.user}-${r.notebook}`}
                aria-label={`Download ${r.user}'s ${r.notebook}`}
              >
                Download
              </a>
            </li>
          ))}
        </ul>
      )}
      <a className="jp-Course-zip" href={zip} download={`${session.id}-handins.zip`}>
        Download all (zip)
      </a>
    </div>
  );
}

/**
 * A session's assignment: the deadline in the student's time and the
 * course's, the time left (ticking), "Hand in" per notebook (saving an open
 * notebook first), the receipt and the earlier ones; teachers also get the
 * list of hand-ins and the downloads.
 */
export function Assignment(props: {
  session: ISession;
  model: CourseModel;
  actions: IPanelActions;
}): JSX.Element | null {
  const { session, model, actions } = props;
  const now = useNow(1000);
  const current = model.assignment(session.id);
  const teacher = model.me?.teacher ?? false;
  const { phase, secondsLeft } = current
    ? assignmentPhase(current.assignment, (now - current.at) / 1000)
    : { phase: 'closed', secondsLeft: 0 };

  // Load the hand-ins when shown, and again when the deadline passes (the
  // service then says whether late hand-ins are still taken).
  useEffect(() => {
    void model.loadHandins(session.id);
  }, [model, session.id, phase, teacher]);

  if (!current) {
    return null;
  }
  const { assignment } = current;
  const listed = model.handins[session.id]?.handins ?? [];
  const error = model.handinErrors[session.id];
  const listError = model.listErrors[session.id];
  const refusedForDeadline = error?.reason === 'deadline';
  const mine = teacher ? [] : listed;
  const latest = model.receipts[session.id] ?? mine[0];
  const earlier = mine.filter(r => r.id !== latest?.id);
  const lateUntil = assignment.late_until_utc
    ? ` until ${formatDateTime(assignment.late_until_utc)}`
    : '';

  return (
    <div
      className={`jp-Course-assignment jp-mod-${phase}`}
      data-assignment={session.id}
    >
      <h4>Assignment</h4>
      <p className="jp-Course-deadline">
        Due {formatDateTime(assignment.deadline_utc)} (your time) ·{' '}
        {formatDateTime(assignment.deadline_utc, assignment.timezone)} (
        {assignment.timezone})
      </p>
      <p className="jp-Course-timeLeft" role="timer">
        {phase === 'open' && <>{formatTimeLeft(secondsLeft)} left</>}
        {phase === 'late' && (
          <>
            <span className="jp-Course-badge jp-mod-late">Late</span> The deadline has
            passed: hand-ins are accepted{lateUntil} and marked late.
          </>
        )}
        {phase === 'closed' && (
          <>
            <span className="jp-Course-badge jp-mod-closed">Closed</span>{' '}
            {refusedForDeadline ? error.message : CLOSED}
          </>
        )}
      </p>
      {!teacher && (
        <ul className="jp-Course-handin">
          {assignment.notebooks.map(path => {
            const nb = session.notebooks.find(n => n.path === path);
            const busy = model.handingIn === `${session.id}/${path}`;
            const title = nb?.title ?? path;
            return (
              <li key={path} data-handin={path}>
                <span className="jp-Course-handinTitle">{title}</span>
                <button
                  className="jp-mod-styled jp-mod-accept"
                  disabled={
                    phase === 'closed' || model.handingIn !== null || !nb?.present
                  }
                  aria-label={`Hand in ${path}`}
                  title={`Save ${path} and hand it in`}
                  onClick={() =>
                    void model.handIn(session.id, path, () =>
                      nb ? actions.saveIfDirty(nb.local_path) : Promise.resolve()
                    )
                  }
                >
                  {busy ? 'Handing in…' : 'Hand in'}
                </button>
                {!nb?.present && (
                  <span className="jp-Course-handinHint">
                    Open the session to get this notebook first.
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {latest && (
        <div className="jp-Course-receipt" role="status" title={latest.sha256}>
          {receiptLine(latest)}
          {assignment.notebooks.length > 1 ? ` (${latest.notebook})` : ''}
        </div>
      )}
      {earlier.length > 0 && (
        <details className="jp-Course-receipts">
          <summary>Earlier hand-ins ({earlier.length})</summary>
          <ul>
            {earlier.map(r => (
              <li key={r.id} title={r.sha256}>
                {formatDateTime(r.received)}: {r.notebook}, {formatSize(r.size)}
                {r.late ? ', late' : ''}
              </li>
            ))}
          </ul>
        </details>
      )}
      {error && !(refusedForDeadline && phase === 'closed') && (
        <div className="jp-Course-error" role="alert">
          {error.message}
        </div>
      )}
      {listError && (
        <div className="jp-Course-error" role="alert">
          {listError.message}
        </div>
      )}
      {teacher && <HandinList session={session} model={model} handins={listed} />}
    </div>
  );
}
