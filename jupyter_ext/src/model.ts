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
  notebooks: INotebookStatus[];
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
