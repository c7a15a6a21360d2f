/**
 * The class at a glance (teachers): the service's model of the class, the
 * calls that read it and act on it, and how its figures read.
 */
import { requestAPI } from './request';

/** A student's state on the hub. */
export type StudentStatus = 'running' | 'starting' | 'online' | 'away' | 'never';

/** One of a student's Dask clusters now. */
export interface IClassCluster {
  name: string;
  status: string;
  workers: number;
  cores: number;
  /** Bytes. */
  memory: number;
}

/** Answered and right. */
export interface IScore {
  answered: number;
  correct: number;
}

/** A student's latest hand-in of an assignment. */
export interface IClassHandin {
  session: string;
  received: string;
  late: boolean;
  count: number;
}

/** One row of the class view. */
export interface IStudentRow {
  name: string;
  status: StudentStatus;
  last_activity: string | null;
  server_url: string;
  sessions: string[];
  selfcheck: IScore;
  live: IScore;
  handins: IClassHandin[];
  /** null: the gateway could not be asked (see `gateway_error`). */
  clusters: IClassCluster[] | null;
}

/** The class: its rows, totals and capacity (GET api/class). */
export interface IClass {
  generated?: string;
  students: IStudentRow[];
  totals: {
    students: number;
    servers_running: number;
    online: number;
    clusters: number | null;
    workers: number | null;
    cores: number | null;
    memory: number | null;
  };
  limits: {
    max_clusters: number | null;
    max_cores: number | null;
    max_memory_gib: number | null;
  } | null;
  capacity: {
    max_clusters: number | null;
    max_cores: number | null;
    max_memory: number | null;
  } | null;
  gateway_error: string | null;
}

/** A teacher's action on a student, as recorded. */
export interface IClassAction {
  id: number;
  at: string;
  by: string;
  action: 'stop-cluster' | 'stop-server';
  user: string;
  target: string | null;
  result: string;
}

/** What the Teacher section calls (the tests give a fake). */
export interface IClassAPI {
  classView(): Promise<IClass>;
  classActions(): Promise<IClassAction[]>;
  stopStudentCluster(user: string, cluster: string): Promise<IClassAction>;
  stopStudentServer(user: string): Promise<IClassAction>;
}

/** The real calls, through this server's course API. */
export const ClassAPI: IClassAPI = {
  classView(): Promise<IClass> {
    return requestAPI<IClass>('class');
  },
  async classActions(): Promise<IClassAction[]> {
    const reply = await requestAPI<{ actions: IClassAction[] }>('class/actions');
    return reply.actions;
  },
  stopStudentCluster(user: string, cluster: string): Promise<IClassAction> {
    return requestAPI<IClassAction>('class/actions', {
      method: 'POST',
      body: JSON.stringify({ action: 'stop-cluster', user, cluster })
    });
  },
  stopStudentServer(user: string): Promise<IClassAction> {
    return requestAPI<IClassAction>('class/actions', {
      method: 'POST',
      body: JSON.stringify({ action: 'stop-server', user })
    });
  }
};

/** "just now", "1 min ago", "12 min ago", "3 h ago", "never". */
export function ago(when: string | null, now: number): string {
  if (!when) {
    return 'never';
  }
  const minutes = Math.floor((now - Date.parse(when)) / 60000);
  if (!Number.isFinite(minutes)) {
    return 'never';
  }
  if (minutes < 1) {
    return 'just now';
  }
  if (minutes < 120) {
    return `${minutes} min ago`;
  }
  if (minutes < 48 * 60) {
    return `${Math.floor(minutes / 60)} h ago`;
  }
  return `${Math.floor(minutes / (24 * 60))} d ago`;
}

/** Bytes as GiB, one decimal. */
export function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function of(value: number | null, limit: number | null | undefined, unit = ''): string {
  const v = value ?? 0;
  return limit === null || limit === undefined
    ? `${v}${unit}`
    : `${v}${unit} of ${limit}${unit}`;
}

/** The totals line: servers, clusters, workers, cores, memory against the capacity. */
export function totalsLine(view: IClass): string {
  const t = view.totals;
  const parts = [
    `${t.servers_running} of ${t.students} servers running`,
    `${t.online} online`
  ];
  if (t.clusters !== null) {
    const cap = view.capacity;
    parts.push(
      `${of(t.clusters, cap?.max_clusters)} clusters`,
      `${t.workers ?? 0} workers`,
      `${of(Number((t.cores ?? 0).toFixed(1)), cap?.max_cores)} cores`,
      cap?.max_memory
        ? `${gib(t.memory ?? 0)} of ${gib(cap.max_memory)}`
        : gib(t.memory ?? 0)
    );
  }
  return parts.join(' · ');
}

/** "2/3" (right of answered), or "–" without answers. */
export function score(s: IScore): string {
  return s.answered ? `${s.correct}/${s.answered}` : '–';
}
