import {
  IAssignment,
  ICluster,
  IHandins,
  ILiveQuestion,
  ILiveState,
  IMe,
  IOpenLiveRequest,
  IOpenReport,
  IOptionField,
  IProgram,
  IQuiz,
  IQuizQuestion,
  IReceipt,
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

/** An assignment due `secondsLeft` from now (by the service's clock). */
export function assignment(
  secondsLeft = 2 * 3600 + 13 * 60,
  over: Partial<IAssignment> = {}
): IAssignment {
  const deadline = new Date(Date.now() + secondsLeft * 1000).toISOString();
  return {
    notebooks: ['check.ipynb'],
    deadline,
    timezone: 'Europe/Paris',
    deadline_utc: deadline,
    late_until_utc: null,
    accepts_late: false,
    seconds_left: secondsLeft,
    open: secondsLeft > 0,
    ...over
  };
}

export function receipt(over: Partial<IReceipt> = {}): IReceipt {
  return {
    id: 'r1',
    user: 'alice',
    session: 'dask',
    notebook: 'check.ipynb',
    received: '2027-01-15T13:02:11Z',
    size: 2_100_000,
    sha256: 'ab'.repeat(32),
    late: false,
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

/** A live question as a student's server gives it (open, not answered). */
export function liveQuestion(over: Partial<ILiveQuestion> = {}): ILiveQuestion {
  return {
    id: 7,
    session: 'dask',
    number: 0,
    text: 'What moves data between workers?',
    choices: ['map', 'shuffle', 'persist'],
    state: 'open',
    opened_at: '2027-01-15T09:15:00Z',
    closed_at: null,
    revealed_at: null,
    my_answer: null,
    answer: null,
    explanation: null,
    ...over
  };
}

/** The same question as a teacher sees it: the answer and the counts. */
export function teacherQuestion(over: Partial<ILiveQuestion> = {}): ILiveQuestion {
  return liveQuestion({
    answer: 1,
    explanation: 'A shuffle sends each key to one worker.',
    counts: [0, 0, 0],
    answered: 0,
    online: 2,
    ...over
  });
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
  firstChoices: Record<string, string> = {};
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
    // As the server keeps them: the first answer stays, the latest is shown.
    const first = this.firstChoices[`${id}:${index}`] ?? choice;
    this.firstChoices[`${id}:${index}`] = first;
    const q: IQuizQuestion = {
      ...this.quizValue.questions[index],
      choice,
      correct: choice === 'B',
      first_choice: first,
      first_correct: first === 'B',
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
  meValue: IMe = { name: 'alice', teacher: false };
  me() {
    return this.answer('me', this.meValue);
  }
  handinsValue: IHandins = { assignment: null, handins: [] };
  handins(id: string, latest = false) {
    return this.answer(`handins:${id}${latest ? ':latest' : ''}`, this.handinsValue);
  }
  receiptValue: IReceipt = receipt();
  handIn(id: string, notebook: string) {
    return this.answer(`handin:${id}:${notebook}`, this.receiptValue);
  }
  /** What `live` answers (the same, at once, unless a test replaces `live`). */
  liveValue: ILiveState = {
    version: 1,
    question: null,
    server_time: '2027-01-15T09:15:01Z'
  };
  historyValue: ILiveQuestion[] = [];
  live(after?: number) {
    return this.answer(after === undefined ? 'live' : `live?after=${after}`, {
      ...this.liveValue
    });
  }
  openLive(request: IOpenLiveRequest) {
    const q =
      'text' in request
        ? teacherQuestion({
            id: 8,
            session: null,
            number: null,
            text: request.text,
            choices: request.choices,
            answer: request.answer,
            explanation: request.explanation,
            counts: request.choices.map(() => 0)
          })
        : teacherQuestion({ session: request.session, number: request.number });
    return this.answer(`live:open:${JSON.stringify(request)}`, q);
  }
  liveQuestion(id: number) {
    const q = this.historyValue.find(h => h.id === id) ?? teacherQuestion({ id });
    return this.answer(`live:get:${id}`, q);
  }
  liveHistory() {
    return this.answer('live:history', this.historyValue);
  }
  /** Like the service: the student's answer is kept, the question comes back. */
  answerLive(id: number, choice: number) {
    const q = {
      ...(this.liveValue.question ?? liveQuestion({ id })),
      my_answer: choice
    };
    this.liveValue = { ...this.liveValue, question: q };
    return this.answer(`live:answer:${id}:${choice}`, q);
  }
  closeLive(id: number) {
    const q = {
      ...(this.liveValue.question ?? teacherQuestion({ id })),
      state: 'closed'
    };
    return this.answer(`live:close:${id}`, q as ILiveQuestion);
  }
  revealLive(id: number) {
    const q = {
      ...(this.liveValue.question ?? teacherQuestion({ id })),
      state: 'revealed'
    };
    return this.answer(`live:reveal:${id}`, q as ILiveQuestion);
  }
  downloadUrl(endPoint: string) {
    return `/user/alice/course/api/${endPoint}`;
  }
}
