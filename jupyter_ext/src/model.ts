/**
 * The shapes of the course API's answers (see docs/developers.md).
 */

export interface ISlide {
  title: string;
  url: string;
}

export interface INotebookStatus {
  path: string;
  title: string;
  main: boolean;
  /** Path for the contents API, relative to the student's home. */
  local_path: string;
  present: boolean;
  modified: boolean;
}

export interface IClusterPreset {
  workers: number;
  worker_cores: number;
  worker_memory: number;
  adaptive: { minimum: number; maximum: number } | null;
}

export interface ISession {
  id: string;
  title: string;
  duration: string;
  duration_minutes: number;
  self_paced: boolean;
  summary: string;
  slides: ISlide[];
  cluster: IClusterPreset | null;
  quiz_questions: number;
  folder: string;
  opened: boolean;
  /** `broken`: damaged or its last sync failed; opening it again repairs it. */
  state?: 'new' | 'opened' | 'broken';
  /** When broken: what is wrong and what opening it again does. */
  problem?: string | null;
  notebooks: INotebookStatus[];
  /** The session's assignment (from the course service), if it has one. */
  assignment?: IAssignment | null;
}

/** An assignment as the course service describes it (times by its clock). */
export interface IAssignment {
  /** Notebook paths as in the session's `notebooks`. */
  notebooks: string[];
  /** As written in course.yml, with its UTC offset. */
  deadline: string;
  /** The course's IANA time zone. */
  timezone: string;
  deadline_utc: string;
  late_until_utc: string | null;
  accepts_late: boolean;
  /** Seconds to the deadline when the service answered (negative after it). */
  seconds_left: number;
  /** Whether a hand-in was accepted when the service answered. */
  open: boolean;
}

/** What the course service gives back for a hand-in. */
export interface IReceipt {
  id: string;
  user: string;
  session: string;
  notebook: string;
  /** ISO 8601 UTC, the service's clock. */
  received: string;
  size: number;
  sha256: string;
  late: boolean;
}

export interface IHandins {
  assignment: IAssignment | null;
  /** Newest first: a student's own; a teacher's, each student's latest. */
  handins: IReceipt[];
}

export interface IMe {
  name: string;
  teacher: boolean;
}

export interface IProgram {
  course: { id: string; title: string; summary: string; url: string | null };
  sessions: ISession[];
  content_error: string | null;
}

export interface IOpenReport {
  session: string;
  folder: string;
  open: string | null;
  added: string[];
  updated: string[];
  kept: string[];
  removed: string[];
  renamed: { from: string; to: string }[];
  backup?: string;
  /** Why the folder was moved to `backup` (a sentence). */
  backup_reason?: string;
  notebooks: INotebookStatus[];
}

export type ClusterStatus = 'pending' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ICluster {
  name: string;
  status: ClusterStatus;
  options: Record<string, unknown>;
  session: string | null;
  workers: number | null;
  workers_requested: number | null;
  adaptive: { minimum: number; maximum: number } | null;
  cores: number | null;
  memory: number | null;
  dashboard_link: string | null;
  start_time: number | null;
  connection_code: string;
  warning?: string;
}

export interface IOptionField {
  field: string;
  label: string;
  type: 'integer' | 'float' | 'select' | 'string' | 'bool' | string;
  default: unknown;
  min: number | null;
  max: number | null;
  options: string[] | null;
}

/** What a create request carries. */
export interface ICreateRequest {
  session?: string;
  options?: Record<string, unknown>;
  workers?: number;
  adaptive?: { minimum: number; maximum: number };
}

export interface IQuizQuestion {
  /** 0-based position; the API numbers questions from 1. */
  index: number;
  question: string;
  choices: Record<string, string>;
  choice: string | null;
  correct: boolean | null;
  /** The first answer given and whether it was right: the score counts these. */
  first_choice?: string | null;
  first_correct?: boolean | null;
  attempts: number;
  /** Only once answered. */
  answer?: string;
  explanation?: string;
}

export interface IQuiz {
  session: string;
  questions: IQuizQuestion[];
  score: { answered: number; correct: number; total: number };
}

/** Where a live question is in its life. */
export type LiveState = 'open' | 'closed' | 'revealed';

/**
 * A live question as the course service describes it. Students get their own
 * answer only, and `answer`/`explanation` only once revealed; teachers get
 * everything, with the counts.
 */
export interface ILiveQuestion {
  id: number;
  session: string | null;
  /** 0-based position in the session's quiz, when it came from one. */
  number: number | null;
  text: string;
  choices: string[];
  state: LiveState;
  opened_at: string;
  closed_at: string | null;
  revealed_at: string | null;
  /** The student's own choice (0-based). */
  my_answer: number | null;
  answer: number | null;
  explanation: string | null;
  /** Teachers only: answers per choice. */
  counts?: number[];
  answered?: number;
  online?: number;
}

/** What `GET live` answers. */
export interface ILiveState {
  version: number;
  question: ILiveQuestion | null;
  server_time: string;
}

/** A question the teacher typed: 2-5 choices, the right one (0-based) if any. */
export interface ITypedLiveRequest {
  text: string;
  choices: string[];
  answer: number | null;
  explanation: string | null;
}

/** What a teacher sends to open a question: one of a session quiz's, or typed. */
export type IOpenLiveRequest = { session: string; number: number } | ITypedLiveRequest;
