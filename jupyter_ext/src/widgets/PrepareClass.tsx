import React, { useEffect, useRef, useState } from 'react';

import { CourseApiError, requestAPI } from '../request';
import { CourseModel } from '../state';
import { useModel } from './useModel';

/** A preparation of the class, as the course service reports it. */
export interface IPreparation {
  id: string;
  total: number;
  started: number;
  ready: number;
  failed: number;
  failures: { user: string; message: string }[];
  done: boolean;
  keep_until?: string;
}

/** Milliseconds between two reads of a running preparation's progress. */
export const PREPARE_POLL_MS = 1000;

/** Start the roster's servers (the course service's job). */
export function startPreparation(): Promise<IPreparation> {
  return requestAPI<IPreparation>('class/prepare', {
    method: 'POST',
    body: JSON.stringify({})
  });
}

/** A preparation's progress. */
export function readPreparation(id: string): Promise<IPreparation> {
  return requestAPI<IPreparation>(`class/prepare/${encodeURIComponent(id)}`);
}

/** "12 of 20 ready, 1 failed" */
export function progressLine(job: IPreparation): string {
  const failed = job.failed > 0 ? `, ${job.failed} failed` : '';
  const state = job.done ? '' : ` (${job.started} started)`;
  return `${job.ready} of ${job.total} ready${failed}${state}`;
}

/**
 * Teachers: "Prepare the class" starts every student's server before the
 * class, at the hub's pace; a progress bar and each failure's sentence.
 */
export function PrepareClass(props: {
  model: CourseModel;
  start?: () => Promise<IPreparation>;
  read?: (id: string) => Promise<IPreparation>;
  pollMs?: number;
}): JSX.Element | null {
  const { model } = props;
  const start = props.start ?? startPreparation;
  const read = props.read ?? readPreparation;
  const pollMs = props.pollMs ?? PREPARE_POLL_MS;
  useModel(model);
  const [job, setJob] = useState<IPreparation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    []
  );

  useEffect(() => {
    if (!job || job.done) {
      return;
    }
    const timer = setTimeout(() => {
      read(job.id)
        .then(next => alive.current && setJob(next))
        .catch((e: unknown) => {
          if (alive.current) {
            setError(e instanceof CourseApiError ? e.message : String(e));
            setBusy(false);
          }
        });
    }, pollMs);
    return () => clearTimeout(timer);
  }, [job, read, pollMs]);

  useEffect(() => {
    if (job?.done) {
      setBusy(false);
    }
  }, [job]);

  if (!model.me?.teacher) {
    return null;
  }
  const onClick = async () => {
    setBusy(true);
    setError(null);
    try {
      setJob(await start());
    } catch (e) {
      setError(e instanceof CourseApiError ? e.message : String(e));
      setBusy(false);
    }
  };
  return (
    <section className="jp-Course-prepare" aria-label="Prepare the class">
      <h3>Prepare the class</h3>
      <p className="jp-Course-hint">
        Starts every student's server now; the idle culler leaves them alone until
        shortly after the class starts.
      </p>
      <button className="jp-Button" disabled={busy} onClick={() => void onClick()}>
        {busy ? 'Preparing…' : 'Prepare the class'}
      </button>
      {error && (
        <div className="jp-Course-error" role="alert">
          {error}
        </div>
      )}
      {job && (
        <div className="jp-Course-prepareProgress">
          <progress
            max={Math.max(job.total, 1)}
            value={job.ready + job.failed}
            aria-label="Servers ready"
          />
          <span>{progressLine(job)}</span>
          {job.failures.length > 0 && (
            <ul className="jp-Course-prepareFailures" aria-label="Failures">
              {job.failures.map(f => (
                <li key={f.user}>
                  <strong>{f.user}</strong>: {f.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
