/**
 * Pure helpers that turn API models into what the panel says. Kept free of
 * JupyterLab imports so that Jest tests them directly.
 */
import {
  ICluster,
  IClusterPreset,
  ICreateRequest,
  INotebookStatus,
  IOpenReport,
  IOptionField
} from './model';

const GIB = 2 ** 30;

/** Bytes as GiB with one decimal ("4.0 GiB"); unknown as a dash. */
export function formatMemory(bytes: number | null): string {
  if (bytes === null || bytes === undefined) {
    return '–';
  }
  return `${(bytes / GIB).toFixed(1)} GiB`;
}

/** "2 workers × 1 core, 2 GiB each" (or the adaptive range). */
export function presetLabel(preset: IClusterPreset): string {
  const cores = preset.worker_cores === 1 ? '1 core' : `${preset.worker_cores} cores`;
  const count = preset.adaptive
    ? `${preset.adaptive.minimum}-${preset.adaptive.maximum} workers`
    : preset.workers === 1
      ? '1 worker'
      : `${preset.workers} workers`;
  return `${count} × ${cores}, ${preset.worker_memory} GiB each`;
}

export interface IProgress {
  /** What the card's status line says. */
  label: string;
  /** Still on its way to what was asked for. */
  starting: boolean;
}

/** pending -> running -> workers n/m, as the card shows it. */
export function clusterProgress(cluster: ICluster): IProgress {
  if (cluster.status === 'pending') {
    return { label: 'Pending: starting the scheduler…', starting: true };
  }
  if (cluster.status !== 'running') {
    return {
      label: cluster.status[0].toUpperCase() + cluster.status.slice(1),
      starting: false
    };
  }
  const have = cluster.workers;
  if (have === null) {
    return { label: 'Running (workers unknown for now)', starting: false };
  }
  const target = cluster.adaptive ? null : (cluster.workers_requested ?? null);
  if (cluster.adaptive) {
    const { minimum, maximum } = cluster.adaptive;
    return {
      label: `Running: ${have} worker${have === 1 ? '' : 's'} (adaptive ${minimum}-${maximum})`,
      starting: have < minimum
    };
  }
  if (target === null) {
    return {
      label: `Running: ${have} worker${have === 1 ? '' : 's'}`,
      starting: false
    };
  }
  return { label: `Running: workers ${have}/${target}`, starting: have !== target };
}

/** Poll faster while something is on its way. */
export function needsFastPoll(clusters: ICluster[]): boolean {
  return clusters.some(c => c.status === 'pending' || clusterProgress(c).starting);
}

/** The badge of a notebook in the program. */
export function notebookBadge(nb: INotebookStatus): { text: string; kind: string } {
  if (!nb.present) {
    return { text: 'not in your home yet', kind: 'missing' };
  }
  if (nb.modified) {
    return { text: 'changed by you', kind: 'modified' };
  }
  return { text: 'up to date', kind: 'synced' };
}

function baseName(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1];
}

/** Sentences that say what an open did, one per kind of change. */
export function reportLines(report: IOpenReport): string[] {
  const lines: string[] = [];
  const list = (paths: string[]) => paths.map(baseName).join(', ');
  if (report.backup) {
    lines.push(`Your earlier folder was kept as ${report.backup}.`);
  }
  if (report.added.length) {
    lines.push(`Added: ${list(report.added)}.`);
  }
  if (report.updated.length) {
    lines.push(`Updated: ${list(report.updated)}.`);
  }
  if (report.kept.length) {
    lines.push(`Kept your version of ${list(report.kept)}.`);
  }
  for (const r of report.renamed) {
    lines.push(`Your ${baseName(r.from)} was renamed ${baseName(r.to)}.`);
  }
  if (report.removed.length) {
    lines.push(`Removed from the course: ${list(report.removed)}.`);
  }
  if (!lines.length) {
    lines.push('Everything was already up to date.');
  }
  return lines;
}

export interface IFormValues {
  [field: string]: string;
}

/**
 * Turn the options form's text values into a create request, checking each
 * against the gateway's own field limits. Returns the request or the list of
 * problems, each a sentence.
 */
export function buildCreateRequest(
  fields: IOptionField[],
  values: IFormValues,
  workersText: string,
  adaptive: { enabled: boolean; minimum: string; maximum: string }
): { request?: ICreateRequest; problems: string[] } {
  const problems: string[] = [];
  const options: Record<string, unknown> = {};
  for (const f of fields) {
    const raw = values[f.field];
    if (raw === undefined || raw === '') {
      continue;
    }
    if (f.type === 'integer' || f.type === 'float') {
      const n = Number(raw);
      if (!Number.isFinite(n) || (f.type === 'integer' && !Number.isInteger(n))) {
        problems.push(
          `${f.label} must be a ${f.type === 'integer' ? 'whole ' : ''}number.`
        );
        continue;
      }
      if (f.min !== null && n < f.min) {
        problems.push(`${f.label} must be at least ${f.min}.`);
        continue;
      }
      if (f.max !== null && n > f.max) {
        problems.push(`${f.label} must be at most ${f.max}.`);
        continue;
      }
      options[f.field] = n;
    } else if (f.type === 'select') {
      if (f.options && !f.options.includes(raw)) {
        problems.push(`${f.label}: choose one of ${f.options.join(', ')}.`);
        continue;
      }
      options[f.field] = raw;
    } else if (f.type === 'bool') {
      options[f.field] = raw === 'true';
    } else {
      options[f.field] = raw;
    }
  }
  const request: ICreateRequest = { options };
  const whole = (text: string, label: string, low: number): number | null => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isInteger(n) || n < low) {
      problems.push(`${label} must be a whole number of at least ${low}.`);
      return null;
    }
    return n;
  };
  if (adaptive.enabled) {
    const minimum = whole(adaptive.minimum, 'Minimum workers', 0);
    const maximum = whole(adaptive.maximum, 'Maximum workers', 1);
    if (minimum !== null && maximum !== null) {
      if (minimum > maximum) {
        problems.push('Minimum workers must not exceed maximum workers.');
      } else {
        request.adaptive = { minimum, maximum };
      }
    }
  } else {
    const workers = whole(workersText, 'Workers', 0);
    if (workers !== null) {
      request.workers = workers;
    }
  }
  return problems.length ? { problems } : { request, problems };
}

/** The first characters of a gateway cluster name, enough to tell them apart. */
export function shortName(name: string): string {
  const last = name.split('.').pop() ?? name;
  return last.length > 8 ? last.slice(0, 8) : last;
}

/** A hand-in's size as people read it: "2.1 MB", "830 kB", "512 B" (decimal units). */
export function formatSize(bytes: number): string {
  if (bytes < 1000) {
    return `${bytes} B`;
  }
  if (bytes < 1e6) {
    return `${(bytes / 1e3).toFixed(bytes < 1e4 ? 1 : 0)} kB`;
  }
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** The local time of day of an ISO instant: "14:02:11". */
export function formatClock(iso: string): string {
  const d = new Date(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** An instant as a date and time, in the browser's zone or in `timeZone`. */
export function formatDateTime(iso: string, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
    timeZone
  }).format(new Date(iso));
}

/** "Handed in 14:02:11, 2.1 MB" (", late" when it was). */
export function receiptLine(receipt: {
  received: string;
  size: number;
  late: boolean;
}): string {
  const late = receipt.late ? ', late' : '';
  return `Handed in ${formatClock(receipt.received)}, ${formatSize(receipt.size)}${late}`;
}

/** Time to a deadline, coarser as it is further: "2 d 3 h", "1 h 05 min", "4 min 09 s". */
export function formatTimeLeft(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) {
    return `${days} d ${hours} h`;
  }
  if (hours > 0) {
    return `${hours} h ${pad(minutes)} min`;
  }
  return `${minutes} min ${pad(s % 60)} s`;
}

export type AssignmentPhase = 'open' | 'late' | 'closed';

/**
 * Where an assignment stands `elapsed` seconds after the service answered.
 * Its `seconds_left` and `open` are by the service's clock, which decides;
 * counting from them keeps a wrong clock in the browser out of it.
 */
export function assignmentPhase(
  a: {
    seconds_left: number;
    open: boolean;
    accepts_late: boolean;
    deadline_utc: string;
    late_until_utc: string | null;
  },
  elapsed: number
): { phase: AssignmentPhase; secondsLeft: number } {
  const secondsLeft = a.seconds_left - elapsed;
  if (!a.open) {
    return { phase: 'closed', secondsLeft };
  }
  if (secondsLeft > 0) {
    return { phase: 'open', secondsLeft };
  }
  let lateSpan = 0;
  if (a.accepts_late) {
    lateSpan = a.late_until_utc
      ? (Date.parse(a.late_until_utc) - Date.parse(a.deadline_utc)) / 1000
      : Infinity;
  }
  return { phase: secondsLeft + lateSpan > 0 ? 'late' : 'closed', secondsLeft };
}
