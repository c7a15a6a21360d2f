import React, { useCallback, useEffect, useState } from 'react';

import {
  ago,
  gib,
  IClass,
  IClassAction,
  IClassAPI,
  IStudentRow,
  score,
  StudentStatus,
  totalsLine
} from '../classview';
import { useNow } from './useNow';

/** Seconds between two refreshes of the class while the page is visible. */
export const CLASS_REFRESH_MS = 10000;

const STATUS_LABELS: Record<StudentStatus, string> = {
  running: 'Server running',
  starting: 'Server starting',
  online: 'Online, no server',
  away: 'Away',
  never: 'Never logged in'
};

const ACTION_LABELS: Record<IClassAction['action'], string> = {
  'stop-cluster': 'stopped the clusters of',
  'stop-server': 'stopped the server of'
};

/** An action's result as the teacher reads it ("stopped 2", "it was not running"). */
function resultLabel(result: string): string {
  if (result === 'not-running') {
    return 'it was not running';
  }
  if (result === 'no-cluster') {
    return 'there was no cluster';
  }
  return result;
}

function Row(props: {
  row: IStudentRow;
  now: number;
  busy: boolean;
  onStopCluster: (user: string, cluster: string) => void;
  onStopServer: (user: string) => void;
}): JSX.Element {
  const { row, now, busy } = props;
  const handins = row.handins.map(h => `${h.session}${h.late ? ' (late)' : ''}`);
  return (
    <tr data-student={row.name}>
      <td>
        <span
          className={`jp-Course-dot jp-Course-dot-${row.status}`}
          title={STATUS_LABELS[row.status]}
          aria-label={STATUS_LABELS[row.status]}
          role="img"
        />{' '}
        {row.name}
      </td>
      <td>{ago(row.last_activity, now)}</td>
      <td title={row.sessions.join(', ')}>{row.sessions.length}</td>
      <td title="Self-check: first answers right / answered">{score(row.selfcheck)}</td>
      <td title="Live quiz: right / answered">{score(row.live)}</td>
      <td title={handins.join(', ')}>{row.handins.length}</td>
      <td>
        {row.clusters === null && '?'}
        {row.clusters?.length === 0 && '–'}
        {row.clusters?.map(c => (
          <div key={c.name} className="jp-Course-classCluster">
            {c.workers} workers · {c.cores} cores · {gib(c.memory)}{' '}
            <button
              className="jp-mod-styled jp-mod-warn"
              disabled={busy}
              onClick={() => props.onStopCluster(row.name, c.name)}
            >
              Stop cluster
            </button>
          </div>
        ))}
      </td>
      <td>
        <a href={row.server_url} target="_blank" rel="noopener noreferrer">
          Open server
        </a>{' '}
        {(row.status === 'running' || row.status === 'starting') && (
          <button
            className="jp-mod-styled jp-mod-warn"
            disabled={busy}
            onClick={() => props.onStopServer(row.name)}
          >
            Stop server
          </button>
        )}
      </td>
    </tr>
  );
}

/** The class, loaded while shown: refreshed every 10 s while the page is visible. */
function ClassTable(props: {
  api: IClassAPI;
  confirm: (title: string, body: string) => Promise<boolean>;
}): JSX.Element {
  const { api, confirm } = props;
  const now = useNow(10000);
  const [view, setView] = useState<IClass | null>(null);
  const [actions, setActions] = useState<IClassAction[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const [v, a] = await Promise.all([api.classView(), api.classActions()]);
      setView(v);
      setActions(a);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [api]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => {
      if (!document.hidden) {
        void load();
      }
    }, CLASS_REFRESH_MS);
    const onVisible = () => {
      if (!document.hidden) {
        void load();
      }
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [load]);

  const act = async (title: string, body: string, action: () => Promise<unknown>) => {
    if (!(await confirm(title, body))) {
      return;
    }
    setBusy(true);
    try {
      await action();
    } catch (e) {
      setError((e as Error).message);
    }
    await load();
    setBusy(false);
  };

  return (
    <>
      {error && (
        <div className="jp-Course-error" role="alert">
          {error}
        </div>
      )}
      {!view && !error && <div className="jp-Course-loading">Loading the class…</div>}
      {view && (
        <>
          <p className="jp-Course-classTotals">{totalsLine(view)}</p>
          {view.gateway_error && (
            <p className="jp-Course-hint">Clusters unknown: {view.gateway_error}</p>
          )}
          <table className="jp-Course-classTable">
            <thead>
              <tr>
                <th>Student</th>
                <th>Last activity</th>
                <th>Sessions</th>
                <th>Self-check</th>
                <th>Live quiz</th>
                <th>Hand-ins</th>
                <th>Clusters</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {view.students.map(row => (
                <Row
                  key={row.name}
                  row={row}
                  now={now}
                  busy={busy}
                  onStopCluster={(user, cluster) =>
                    void act(
                      `Stop ${user}'s cluster?`,
                      `Cluster ${cluster} and its workers stop; results in their memory are lost.`,
                      () => api.stopStudentCluster(user, cluster)
                    )
                  }
                  onStopServer={user =>
                    void act(
                      `Stop ${user}'s server?`,
                      `${user}'s kernels stop and unsaved work is lost; their files stay.`,
                      () => api.stopStudentServer(user)
                    )
                  }
                />
              ))}
            </tbody>
          </table>
          {view.students.length === 0 && (
            <p className="jp-Course-hint">No student on the hub yet.</p>
          )}
        </>
      )}
      {actions.length > 0 && (
        <ul className="jp-Course-classActions" aria-label="Actions taken">
          {actions.slice(0, 5).map(a => (
            <li key={a.id}>
              {ago(a.at, now)}: {a.by} {ACTION_LABELS[a.action]} {a.user} (
              {resultLabel(a.result)})
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/**
 * The Teacher section: a row per student, the totals against the class's
 * capacity; stop a student's cluster or server (after a confirmation), open
 * their server. Closed until the teacher opens it: nothing is asked of the
 * hub and the gateway meanwhile.
 */
export function ClassView(props: {
  api: IClassAPI;
  confirm: (title: string, body: string) => Promise<boolean>;
}): JSX.Element {
  const [open, setOpen] = useState(false);
  return (
    <section className="jp-Course-class" aria-label="Teacher">
      <h3>
        <button
          className="jp-Course-classToggle"
          aria-expanded={open}
          onClick={() => setOpen(!open)}
        >
          {open ? '▾' : '▸'} Teacher: the class
        </button>
      </h3>
      {open && <ClassTable api={props.api} confirm={props.confirm} />}
    </section>
  );
}
