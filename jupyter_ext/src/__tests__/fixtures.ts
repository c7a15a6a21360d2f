import {
  ICluster,
  IOpenReport,
  IOptionField,
  IProgram,
  IQuiz,
  IQuizQuestion,
  ISession
} from '../model';
import { ICourseAPI } from '../state';

export function session(over: Partial<ISession> = {}): ISession {
  return {
    id: 'dask',
    title: 'Dask hands on',
    duration: '3h',
    duration_minutes: 180,
    self_paced: false,
    summary: 'Dask.',
    slides: [{ title: 'Slides', url: 'https://example.org/s.html' }],
    cluster: { workers: 2, worker_cores: 1, worker_memory: 2, adaptive: null },
    quiz_questions: 1,
    folder: 'course/dask',
    opened: false,
    notebooks: [
      {
        path: 'check.ipynb',
        title: 'Check',
        main: true,
        local_path: 'course/dask/check.ipynb',
        present: false,
        modified: false
      }
    ],
    ...over
  };
}

export function program(sessions: ISession[] = [session()]): IProgram {
  return {
    course: { id: 'c', title: 'The course', summary: '', url: null },
    sessions,
    content_error: null
  };
}

export function cluster(over: Partial<ICluster> = {}): ICluster {
  return {
    name: 'abcdef0123456789',
    status: 'running',
    options: { session: 'dask' },
    session: 'dask',
    workers: 2,
    workers_requested: 2,
    adaptive: null,
    cores: 2,
    memory: 4 * 2 ** 30,
    dashboard_link:
      '/user/a/proxy/127.0.0.1:8003/services/dask-gateway/clusters/abc/status',
    start_time: 1,
    connection_code: 'from dask_gateway import Gateway',
    ...over
  };
}

export const fields: IOptionField[] = [
  {
    field: 'session',
    label: 'Session preset',
    type: 'select',
    default: 'custom',
    min: null,
    max: null,
    options: ['custom', 'dask']
  },
  {
    field: 'worker_cores',
    label: 'Worker cores',
    type: 'integer',
    default: 1,
    min: 1,
    max: 4,
    options: null
  },
  {
    field: 'worker_memory',
    label: 'Worker memory (GiB)',
    type: 'float',
    default: 2,
    min: 1,
    max: 8,
    options: null
  }
];

export function report(over: Partial<IOpenReport> = {}): IOpenReport {
  return {
    session: 'dask',
    folder: 'course/dask',
    open: 'course/dask/check.ipynb',
    added: ['course/dask/check.ipynb'],
    updated: [],
    kept: [],
    removed: [],
    renamed: [],
    notebooks: [],
    ...over
  };
}

/** A fake API that records calls; each method's answer can be replaced. */
export class FakeAPI implements ICourseAPI {
  calls: string[] = [];
  programValue = program();
  clustersValue: ICluster[] = [];
  fail: Record<string, { message: string; reason: string }> = {};
  createValue: ICluster = cluster();

  private async answer<T>(name: string, value: T): Promise<T> {
    this.calls.push(name);
    if (this.fail[name]) {
      throw this.fail[name];
    }
    return value;
  }

  program() {
    return this.answer('program', this.programValue);
  }
  openSession(id: string) {
    return this.answer(`open:${id}`, report({ session: id }));
  }
  quizValue: IQuiz = {
    session: 'dask',
    questions: [
      {
        index: 0,
        question: 'What moves data between machines?',
        choices: { A: 'map', B: 'shuffle' },
        choice: null,
        correct: null,
        attempts: 0
      }
    ],
    score: { answered: 0, correct: 0, total: 1 }
  };
  quiz(id: string) {
    return this.answer(`quiz:${id}`, this.quizValue);
  }
  answerQuiz(id: string, index: number, choice: string) {
    const q: IQuizQuestion = {
      ...this.quizValue.questions[index],
      choice,
      correct: choice === 'B',
      attempts: 1,
      answer: 'B',
      explanation: 'The shuffle.'
    };
    return this.answer(`answer:${id}:${index}:${choice}`, q);
  }
  clusters() {
    return this.answer('clusters', this.clustersValue);
  }
  clusterOptions() {
    return this.answer('options', fields);
  }
  createCluster(request: unknown) {
    return this.answer(`create:${JSON.stringify(request)}`, this.createValue);
  }
  scaleCluster(name: string, n: number) {
    return this.answer(`scale:${name}:${n}`, cluster({ name }));
  }
  adaptCluster(name: string, lo: number, hi: number) {
    return this.answer(`adapt:${name}:${lo}:${hi}`, cluster({ name }));
  }
  async stopCluster(name: string) {
    await this.answer(`stop:${name}`, undefined);
  }
}
